namespace Sidecars.Networks;

/// <summary>
/// A Ready pod the controller is joining to its network: since when (for the join-time metric), how many attempts
/// failed, and when the next may start.
/// </summary>
public sealed record JoinState(string Uid, long Since, int Failures, DateTimeOffset NotBefore);
