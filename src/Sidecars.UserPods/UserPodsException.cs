namespace Sidecars.UserPods;

/// <summary>What went wrong, in terms a caller can act on; mapped to a gRPC status (and so an HTTP status).</summary>
public enum UserPodsError
{
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
    FailedPrecondition,
    DeadlineExceeded,
    Unavailable,
}

/// <summary>A refused or failed user-pods request, with the reason for the caller.</summary>
public sealed class UserPodsException(UserPodsError error, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public UserPodsError Error { get; } = error;
}
