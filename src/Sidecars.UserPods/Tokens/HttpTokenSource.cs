using System.Net;
using System.Text;
using k8s.Models;
using Microsoft.Extensions.Options;
using Sidecars.Conventions;
using Sidecars.UserPods.Configuration;

namespace Sidecars.UserPods.Tokens;

/// <summary>
/// Reads tokens from the pod-agent, which serves the shared token volume as <c>GET /token/&lt;key&gt;</c> on its token
/// port on the pod IP over TLS, to the holder of the token reader's client certificate only (<see cref="TokenReaderCertificate"/>,
/// which <paramref name="http"/>'s handler presents).
/// </summary>
public sealed class HttpTokenSource(HttpClient http, TokenReaderCertificate certificate, IOptions<UserPodsOptions> options) : ITokenSource
{
    /// <summary>A source whose connections present <paramref name="certificate"/>; connections are renewed every two minutes, so a rotated certificate applies.</summary>
    public static HttpTokenSource Create(TokenReaderCertificate certificate, IOptions<UserPodsOptions> options)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            SslOptions = certificate.ClientOptions(),
        };
        return new HttpTokenSource(new HttpClient(handler), certificate, options);
    }

    public async Task<TokenFetch> FetchAsync(V1Pod pod, string key, int byteLimit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(certificate);
        if (certificate.Current() is null)
        {
            return TokenFetch.Refused(certificate.IsConfigured
                ? $"token '{key}': the cluster agent's token client certificate cannot be read"
                : $"token '{key}': the cluster agent has no token client certificate (tokenClientCertificateFile, tokenClientKeyFile)");
        }

        var ip = pod.Status?.PodIP;
        if (string.IsNullOrEmpty(ip) || !IPAddress.TryParse(ip, out var address))
        {
            return TokenFetch.Refused($"token '{key}': the pod has no IP");
        }

        var host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip;
        var url = new Uri($"https://{host}:{options.Value.TokenPort}/token/{Uri.EscapeDataString(key)}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.TokenFetchTimeout);
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return TokenFetch.Refused($"token '{key}' has not been written by the pod");
            }

            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return TokenFetch.Refused(
                    $"token '{key}': the pod-agent refused the cluster agent's client certificate ({(int)response.StatusCode}); it must chain to the pod-agent's CA bundle and name {SidecarsNames.TokenReaderName}");
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
