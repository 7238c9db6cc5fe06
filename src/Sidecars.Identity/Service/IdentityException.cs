namespace Sidecars.Identity.Service;

public enum IdentityError
{
    InvalidArgument,
    NotClaimed,
    AlreadyClaimed,
    UnknownSecret,
}

/// <summary>A refused identity operation; the message is safe to show the caller.</summary>
public sealed class IdentityException(IdentityError error, string message) : Exception(message)
{
    public IdentityError Error { get; } = error;
}
