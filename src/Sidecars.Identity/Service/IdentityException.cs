namespace Sidecars.Identity.Service;

public enum IdentityError
{
    InvalidArgument,
    NotClaimed,
    AlreadyClaimed,
    UnknownSecret,

    /// <summary>No pod token, or one the cluster does not accept.</summary>
    Unauthenticated,

    /// <summary>The caller's pod may not hold the replica blessing it asks for.</summary>
    NotThisReplica,
}

/// <summary>A refused identity operation; the message is safe to show the caller.</summary>
public sealed class IdentityException(IdentityError error, string message) : Exception(message)
{
    public IdentityError Error { get; } = error;
}
