using k8s;

namespace Sidecars.Kubernetes;

/// <summary>A consistent list of objects and the resourceVersion to watch from.</summary>
public sealed record ResourceList<T>(IReadOnlyList<T> Items, string ResourceVersion);

/// <summary>List and watch of one kind of object, filtered by namespace and label selector.</summary>
public interface IResourceSource<T>
    where T : class
{
    /// <summary>Human-readable description (kind, namespace, selector) for logs.</summary>
    string Description { get; }

    Task<ResourceList<T>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Watches from <paramref name="resourceVersion"/>. Errors the server sends in the stream (such as 410 Gone)
    /// go to <paramref name="onError"/>; the stream then ends.
    /// </summary>
    IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync(
        string resourceVersion, Action<Exception> onError, CancellationToken cancellationToken);
}
