namespace Sidecars.Networks;

/// <summary>One network as the controller sees it: members newest first, and Ready pods not joined yet.</summary>
public sealed record NetworkSnapshot(string Id, IReadOnlyList<NetworkMember> Members, int Pending);
