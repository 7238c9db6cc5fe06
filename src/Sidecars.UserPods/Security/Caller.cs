namespace Sidecars.UserPods.Security;

/// <summary>An authenticated caller: the user it acts as, and whether it may act for every user.</summary>
public sealed record Caller(string UserId, bool IsOperator)
{
    /// <summary>Whether the caller may act for <paramref name="userId"/>.</summary>
    public bool MayActFor(string userId) => IsOperator || string.Equals(UserId, userId, StringComparison.Ordinal);

    /// <summary>Refuses a request for another user's user_id.</summary>
    public void EnsureMayActFor(string userId)
    {
        if (!MayActFor(userId))
        {
            throw new UserPodsException(UserPodsError.PermissionDenied,
                $"the caller may act only for its own user_id '{UserId}', not for '{userId}'");
        }
    }
}
