using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Sidecars.AgentLifecycle;

/// <summary>Failure of an API call, with the HTTP status when there was one (401/403 point at RBAC).</summary>
internal sealed class PodApiException(string message, HttpStatusCode? status = null) : Exception(message)
{
    public HttpStatusCode? Status { get; } = status;
}

/// <summary>GET and watch of one pod over the Kubernetes REST API, with the service account's bearer token.</summary>
internal sealed class PodApiClient : IDisposable
{
    private readonly AppsDoneSettings _settings;
    private readonly HttpClient _http;

    public PodApiClient(AppsDoneSettings settings, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        _http = new HttpClient(handler ?? CreateHandler(settings), disposeHandler: true)
        {
            BaseAddress = settings.ApiServer,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    private string PodPath => $"/api/v1/namespaces/{Uri.EscapeDataString(_settings.Namespace)}/pods";

    public async Task<PodModel> GetAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var request = await RequestAsync($"{PodPath}/{Uri.EscapeDataString(_settings.PodName)}", cancellationToken);
        using var response = await _http.SendAsync(request, timeout.Token);
        await EnsureSuccessAsync(response, timeout.Token);
        await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
        return await JsonSerializer.DeserializeAsync(body, LifecycleJsonContext.Default.PodModel, timeout.Token)
            ?? throw new PodApiException("the apiserver answered an empty pod");
    }

    /// <summary>
    /// The events of a watch on the pod from <paramref name="resourceVersion"/>; ends when the server closes the stream.
    /// An ERROR event (410 Gone when the version is too old) is yielded as a <see cref="StatusModel"/>.
    /// </summary>
    public async IAsyncEnumerable<(string Type, PodModel? Pod, StatusModel? Error)> WatchAsync(
        string resourceVersion, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seconds = ((int)_settings.WatchTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        var query = $"?watch=true&allowWatchBookmarks=true&timeoutSeconds={seconds}" +
            $"&fieldSelector={Uri.EscapeDataString("metadata.name=" + _settings.PodName)}&resourceVersion={Uri.EscapeDataString(resourceVersion)}";
        using var request = await RequestAsync(PodPath + query, cancellationToken);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(body);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            var watchEvent = JsonSerializer.Deserialize(line, LifecycleJsonContext.Default.WatchEventModel);
            var type = watchEvent?.Type ?? "";
            if (type == "ERROR")
            {
                yield return (type, null, JsonSerializer.Deserialize(line, LifecycleJsonContext.Default.ErrorEventModel)?.Object);
            }
            else
            {
                yield return (type, watchEvent?.Object, null);
            }
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task<HttpRequestMessage> RequestAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        var token = (await File.ReadAllTextAsync(_settings.TokenFile, cancellationToken)).Trim();
        var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string? message = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            message = JsonSerializer.Deserialize(text, LifecycleJsonContext.Default.StatusModel)?.Message;
        }
        catch (JsonException)
        {
            // Not a Status object; the code alone says enough.
        }

        throw new PodApiException($"the apiserver answered {(int)response.StatusCode}{(message is null ? "" : ": " + message)}", response.StatusCode);
    }

    private static SocketsHttpHandler CreateHandler(AppsDoneSettings settings)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        };
        if (settings.CaFile is { } caFile)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => PrivateRootTrust.IsTrusted(certificate as X509Certificate2, errors, roots);
        }

        return handler;
    }
}
