using System.Net;
using System.Text;
using k8s.Models;
using Microsoft.Extensions.Options;
using Sidecars.UserPods.Configuration;

namespace Sidecars.UserPods.Tokens;

/// <summary>
/// Reads tokens from the pod-agent, which serves the shared token volume as <c>GET /token/&lt;key&gt;</c> on its
/// HTTP port (9090) on the pod IP.
/// </summary>
public sealed class HttpTokenSource(HttpClient http, IOptions<UserPodsOptions> options) : ITokenSource
{
    public async Task<TokenFetch> FetchAsync(V1Pod pod, string key, int byteLimit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var ip = pod.Status?.PodIP;
        if (string.IsNullOrEmpty(ip) || !IPAddress.TryParse(ip, out var address))
        {
            return TokenFetch.Refused($"token '{key}': the pod has no IP");
        }

        var host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip;
        var url = new Uri($"http://{host}:{options.Value.TokenPort}/token/{Uri.EscapeDataString(key)}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.TokenFetchTimeout);
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return TokenFetch.Refused($"token '{key}' has not been written by the pod");
            }

            if (!response.IsSuccessStatusCode)
            {
                return TokenFetch.Refused($"token '{key}': the pod-agent answered {(int)response.StatusCode}");
            }

            if (response.Content.Headers.ContentLength > byteLimit)
            {
                return TooLarge(key, byteLimit);
            }

            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            var buffer = new byte[byteLimit + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(read), timeout.Token)) > 0)
            {
                read += n;
            }

            if (read > byteLimit)
            {
                return TooLarge(key, byteLimit);
            }

            try
            {
                return TokenFetch.Of(new UTF8Encoding(false, true).GetString(buffer, 0, read).TrimEnd('\r', '\n'));
            }
            catch (DecoderFallbackException)
            {
                return TokenFetch.Refused($"token '{key}' is not UTF-8 text");
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TokenFetch.Refused($"token '{key}': the pod-agent did not answer within {options.Value.TokenFetchTimeout.TotalSeconds}s");
        }
        catch (HttpRequestException e)
        {
            return TokenFetch.Refused($"token '{key}': cannot reach the pod-agent: {e.Message}");
        }
    }

    private static TokenFetch TooLarge(string key, int limit) =>
        TokenFetch.Refused($"token '{key}' is larger than the limit of {limit} bytes");
}
