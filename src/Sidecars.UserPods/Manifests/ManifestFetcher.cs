using System.Net;
using Microsoft.Extensions.Options;
using Sidecars.UserPods.Configuration;

namespace Sidecars.UserPods.Manifests;

/// <summary>Downloads a manifest from a whitelisted URL, with a timeout and a size cap, never following redirects.</summary>
public sealed class ManifestFetcher(HttpClient http, IOptions<UserPodsOptions> options)
{
    private readonly ManifestWhitelist _whitelist = new(options.Value.ManifestWhitelist);

    public async Task<string> FetchAsync(string url, CancellationToken cancellationToken)
    {
        if (_whitelist.Refusal(url) is { } refusal)
        {
            throw new UserPodsException(UserPodsError.PermissionDenied, refusal);
        }

        var limit = options.Value.ManifestByteLimit;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.ManifestFetchTimeout);
        try
        {
            using var response = await http.GetAsync(new Uri(url), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new UserPodsException(UserPodsError.FailedPrecondition,
                    $"fetching the manifest from {url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            if (response.Content.Headers.ContentLength > limit)
            {
                throw TooLarge(url, limit);
            }

            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            var buffer = new byte[limit + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(read), timeout.Token)) > 0)
            {
                read += n;
            }

            if (read > limit)
            {
                throw TooLarge(url, limit);
            }

            try
            {
                return new System.Text.UTF8Encoding(false, true).GetString(buffer, 0, read);
            }
            catch (System.Text.DecoderFallbackException)
            {
                throw new UserPodsException(UserPodsError.InvalidArgument, $"the manifest at {url} is not UTF-8 text");
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UserPodsException(UserPodsError.DeadlineExceeded,
                $"fetching the manifest from {url} took longer than {options.Value.ManifestFetchTimeout.TotalSeconds}s");
        }
        catch (HttpRequestException e)
        {
            throw new UserPodsException(UserPodsError.FailedPrecondition, $"fetching the manifest from {url} failed: {e.Message}", e);
        }
    }

    private static UserPodsException TooLarge(string url, int limit) =>
        new(UserPodsError.InvalidArgument, $"the manifest at {url} is larger than the limit of {limit} bytes");
}
