namespace Sidecars.UserPods.Pods;

/// <summary>What a user_id may be: 1 to 253 printable characters (a portal's user name, often an e-mail address).</summary>
internal static class UserIds
{
    public const int MaxLength = 253;

    public static bool IsValid(string? userId) =>
        userId is { Length: > 0 and <= MaxLength } && !userId.Any(char.IsControl) && userId.Trim().Length == userId.Length;
}
