using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sidecars.Kubernetes;

/// <summary>The kind of one event of a watch stream, as the apiserver names it (ADDED, MODIFIED, ...).</summary>
public enum WatchEventType
{
    Added,
    Modified,
    Deleted,
    Error,
    Bookmark,
}

/// <summary>What one watch request asks for: the collection and the query of a list, plus where to start.</summary>
/// <param name="Path">The collection, such as <c>api/v1/namespaces/default/pods</c> (see <see cref="KubernetesWatch.CollectionPath"/>).</param>
/// <param name="ResourceVersion">Where to start; null or empty for the server's choice (the current state as ADDED events).</param>
/// <param name="TimeoutSeconds">The server ends the stream after this long; null for its own default.</param>
public sealed record WatchRequest(
    string Path,
    string? ResourceVersion = null,
    string? LabelSelector = null,
    string? FieldSelector = null,
    int? TimeoutSeconds = null,
    bool AllowBookmarks = true);

/// <summary>
/// Watch of a collection over a <see cref="KubernetesConnection"/>: one request with
/// <c>watch=true</c>, its newline-delimited events read as they arrive. The client's generated operations read a
/// response as one document, which a watch never is.
/// </summary>
public static class KubernetesWatch
{
    /// <summary>
    /// The collection path of a resource: core group when <paramref name="group"/> is empty; all namespaces when
    /// <paramref name="namespace"/> is null or empty.
    /// </summary>
    public static string CollectionPath(string group, string version, string resource, string? @namespace = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(version);
        ArgumentException.ThrowIfNullOrEmpty(resource);
        var root = string.IsNullOrEmpty(group) ? $"api/{version}" : $"apis/{group}/{version}";
        return string.IsNullOrEmpty(@namespace)
            ? $"{root}/{resource}"
            : $"{root}/namespaces/{Uri.EscapeDataString(@namespace)}/{resource}";
    }

    /// <summary>
    /// Streams the events of <paramref name="request"/> until the server ends the stream or
    /// <paramref name="cancellationToken"/> fires, each object read with <paramref name="type"/>. An error the server
    /// sends in the stream (410 Gone when the resourceVersion is too old) goes to <paramref name="onError"/> as a
    /// <see cref="KubernetesException"/> carrying its status, and the stream ends; a line that cannot be read goes there
    /// too and the stream goes on. A refused request throws <see cref="HttpOperationException"/>, a broken connection
    /// its own exception.
    /// </summary>
    public static async IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync<T>(
        this KubernetesConnection connection,
        WatchRequest request,
        JsonTypeInfo<T> type,
        Action<Exception>? onError = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(type);
        using var response = await KubernetesRequests.SendAsync(connection, HttpMethod.Get, BuildUri(request), null, cancellationToken, streamed: true)
            .ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            var (eventType, item, error) = Parse(line, type);
            if (error is not null)
            {
                onError?.Invoke(error);
                if (error is KubernetesException)
                {
                    yield break;
                }

                continue;
            }

            yield return (eventType, item!);
        }
    }

    /// <summary>
    /// <see cref="WatchAsync{T}(KubernetesConnection, WatchRequest, JsonTypeInfo{T}, Action{Exception}?, CancellationToken)"/>
    /// over the connection of <paramref name="client"/> with the client's own metadata for <typeparamref name="T"/>,
    /// which links every kind of the API.
    /// </summary>
    public static IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync<T>(
        this IKubernetes client,
        WatchRequest request,
        Action<Exception>? onError = null,
        CancellationToken cancellationToken = default)
        where T : class =>
        KubernetesConnection.Of(client).WatchAsync(request, (JsonTypeInfo<T>)KubernetesSerialization.Options.GetTypeInfo(typeof(T)), onError, cancellationToken);

    /// <summary>The relative URI of a list of <paramref name="path"/> narrowed by the selectors, its query escaped.</summary>
    internal static string ListUri(string path, string? labelSelector, string? fieldSelector)
    {
        var query = new StringBuilder(path);
        Append(query, "labelSelector", labelSelector);
        Append(query, "fieldSelector", fieldSelector);
        return query.ToString();
    }

    /// <summary>The relative URI of a watch request, its query escaped.</summary>
    internal static string BuildUri(WatchRequest request)
    {
        var query = new StringBuilder(request.Path).Append("?watch=true");
        if (request.AllowBookmarks)
        {
            query.Append("&allowWatchBookmarks=true");
        }

        Append(query, "resourceVersion", request.ResourceVersion);
        Append(query, "labelSelector", request.LabelSelector);
        Append(query, "fieldSelector", request.FieldSelector);
        if (request.TimeoutSeconds is { } seconds)
        {
            query.Append("&timeoutSeconds=").Append(seconds);
        }

        return query.ToString();
    }

    /// <summary>Appends <c>name=value</c> to a query (<c>?</c> before the first) unless the value is empty.</summary>
    private static void Append(StringBuilder query, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            query.Append(query.ToString().Contains('?', StringComparison.Ordinal) ? '&' : '?')
                .Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }
    }

    /// <summary>One line of a watch stream: an event, or the error it carries or is.</summary>
    internal static (WatchEventType Type, T? Object, Exception? Error) Parse<T>(string line, JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (!root.TryGetProperty("type", out var typeElement) || !root.TryGetProperty("object", out var objectElement)
                || objectElement.ValueKind != JsonValueKind.Object)
            {
                return (default, null, new JsonException($"a watch event without type and object: {Shorten(line)}"));
            }

            var eventType = typeElement.GetString() switch
            {
                "ADDED" => WatchEventType.Added,
                "MODIFIED" => WatchEventType.Modified,
                "DELETED" => WatchEventType.Deleted,
                "BOOKMARK" => WatchEventType.Bookmark,
                "ERROR" => WatchEventType.Error,
                var other => throw new JsonException($"unknown watch event type '{other}'"),
            };
            if (eventType == WatchEventType.Error
                || (objectElement.TryGetProperty("kind", out var kind) && kind.ValueEquals("Status") && typeof(T) != typeof(V1Status)))
            {
                var status = objectElement.Deserialize(StatusJsonContext.Shared.V1Status);
                return (eventType, null, new KubernetesException(status));
            }

            var item = objectElement.Deserialize(type);
            return item is null
                ? (default, null, new JsonException($"a watch event with an empty object: {Shorten(line)}"))
                : (eventType, item, null);
        }
        catch (JsonException e)
        {
            return (default, null, e);
        }
    }

    private static string Shorten(string line) => line.Length <= 200 ? line : line[..200] + "…";
}
