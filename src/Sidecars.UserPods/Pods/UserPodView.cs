using Sidecars.UserPods.Tokens;

namespace Sidecars.UserPods.Pods;

/// <summary>What get_pods reports about one pod.</summary>
public sealed record UserPodView(
    string PodName,
    IReadOnlyList<string> Containers,
    IReadOnlyList<string> Images,
    string PodIp,
    string NodeIp,
    string Owner,
    DateTimeOffset Created,
    string Status,
    string Url,
    PodTokens Tokens,
    IReadOnlyDictionary<string, string> ResourceInfo);
