namespace Sidecars.Kubernetes;

public enum ResourceEventType
{
    Added,
    Modified,
    Deleted,
}

/// <summary>A change of one object in an informer's cache.</summary>
/// <param name="Old">The cached object before the change (null for Added).</param>
public sealed record ResourceEvent<T>(ResourceEventType Type, T Item, T? Old)
    where T : class;
