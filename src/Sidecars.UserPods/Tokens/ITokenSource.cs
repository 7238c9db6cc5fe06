using k8s.Models;

namespace Sidecars.UserPods.Tokens;

/// <summary>The outcome of fetching one token: its value, or why there is none.</summary>
public sealed record TokenFetch(string? Value, string? Refusal)
{
    public static TokenFetch Of(string value) => new(value, null);

    public static TokenFetch Refused(string reason) => new(null, reason);
}

/// <summary>Where the tokens a pod's first container writes are read from.</summary>
public interface ITokenSource
{
    /// <summary>Reads token <paramref name="key"/> of a Ready pod; refuses one larger than <paramref name="byteLimit"/>.</summary>
    Task<TokenFetch> FetchAsync(V1Pod pod, string key, int byteLimit, CancellationToken cancellationToken);
}
