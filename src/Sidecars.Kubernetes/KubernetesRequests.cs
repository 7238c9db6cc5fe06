using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using k8s.Autorest;

namespace Sidecars.Kubernetes;

/// <summary>
/// Reads and writes of single objects over a <see cref="KubernetesConnection"/>, serialized with the metadata the
/// caller names. The client's generated operations serialize through one context that describes every
/// kind of the API, so a process that calls any of them carries the code for all; a process that calls only these
/// carries the code for the kinds it names. Errors are those of the generated operations: a refused request throws
/// <see cref="HttpOperationException"/> with the status and the body.
/// </summary>
public static class KubernetesRequests
{
    /// <summary>The path of one object: <see cref="KubernetesWatch.CollectionPath"/> and its name.</summary>
    public static string ObjectPath(string group, string version, string resource, string? @namespace, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return KubernetesWatch.CollectionPath(group, version, resource, @namespace) + "/" + Uri.EscapeDataString(name);
    }

    /// <summary>GET of <paramref name="path"/> (an object or a list, with its query).</summary>
    public static async Task<T> GetAsync<T>(this KubernetesConnection connection, string path, JsonTypeInfo<T> type, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(type);
        using var response = await SendAsync(connection, HttpMethod.Get, path, null, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, type, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST of <paramref name="body"/> to the collection <paramref name="path"/>; the object as created.</summary>
    public static async Task<T> CreateAsync<T>(this KubernetesConnection connection, string path, T body, JsonTypeInfo<T> type, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(type);
        using var content = Content(body, type);
        using var response = await SendAsync(connection, HttpMethod.Post, path, content, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, type, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// POST of <paramref name="body"/> to <paramref name="path"/> where the answer is not the object sent (a
    /// subresource such as a pod's eviction answers with a Status); the answer is read only for its status.
    /// </summary>
    public static async Task PostAsync<T>(this KubernetesConnection connection, string path, T body, JsonTypeInfo<T> type, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(type);
        using var content = Content(body, type);
        using var response = await SendAsync(connection, HttpMethod.Post, path, content, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>PUT of <paramref name="body"/> to the object <paramref name="path"/>; the object as stored.</summary>
    public static async Task<T> ReplaceAsync<T>(this KubernetesConnection connection, string path, T body, JsonTypeInfo<T> type, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(type);
        using var content = Content(body, type);
        using var response = await SendAsync(connection, HttpMethod.Put, path, content, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, type, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The request of <paramref name="path"/> relative to the client's server, authenticated as the client is.</summary>
    internal static async Task<HttpResponseMessage> SendAsync(
        KubernetesConnection connection, HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken, bool streamed = false)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var message = new HttpRequestMessage(method, new Uri(connection.BaseUri, path))
        {
            Version = HttpVersion.Version20,
            Content = content,
        };
        if (connection.Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(message, cancellationToken).ConfigureAwait(false);
        }

        var response = await connection.Http.SendAsync(
            message, streamed ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, cancellationToken)
            .ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new HttpOperationException($"Operation returned an invalid status code '{response.StatusCode}', response body {body}")
            {
                Response = new HttpResponseMessageWrapper(response, body),
            };
        }
    }

    private static ByteArrayContent Content<T>(T body, JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return await JsonSerializer.DeserializeAsync(stream, type, cancellationToken).ConfigureAwait(false)
            ?? throw new JsonException($"the server answered {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath} with an empty body");
    }
}
