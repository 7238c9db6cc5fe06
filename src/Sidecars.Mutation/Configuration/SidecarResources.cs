namespace Sidecars.Mutation;

/// <summary>Requests and limits of one injected container (Kubernetes quantities keyed by resource name).</summary>
public sealed class SidecarResources
{
    public Dictionary<string, string> Requests { get; } = new(StringComparer.Ordinal)
    {
        ["cpu"] = "10m",
        ["memory"] = "32Mi",
    };

    public Dictionary<string, string> Limits { get; } = new(StringComparer.Ordinal)
    {
        ["cpu"] = "200m",
        ["memory"] = "128Mi",
    };
}
