namespace Sidecars.Networks;

/// <summary>A pod whose lightpeer is in the network.</summary>
public sealed record NetworkMember(string Namespace, string Pod, string Uid, string Address, DateTimeOffset JoinedAt)
{
    public string Key => Namespace + "/" + Pod;
}
