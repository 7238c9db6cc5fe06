using System.Security.Cryptography;
using System.Text;

namespace Sidecars.UserPods.Pods;

/// <summary>
/// A create's request_id, the caller's own id for it: what makes a repeated create answer the pod of the first. The
/// pod's instance label is derived from the user and the request_id, and its name from the instance, so a repeat finds
/// the earlier pod by label and two creates of one request racing each other meet on the name. Pure.
/// </summary>
public static class UserPodRequests
{
    public const int MaxLength = 128;

    /// <summary>Characters appended to the generateName prefix: as many as Kubernetes appends itself.</summary>
    public const int NameSuffixLength = 5;

    private const string NameAlphabet = "bcdfghjklmnpqrstvwxz2456789";

    /// <summary>Why <paramref name="requestId"/> cannot be used, or null when it can.</summary>
    public static string? Invalid(string requestId)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        if (requestId.Length > MaxLength)
        {
            return $"request_id is {requestId.Length} characters long; at most {MaxLength} are allowed";
        }

        return requestId.All(c => c is > ' ' and <= '~')
            ? null
            : "request_id may hold printable ASCII characters only (no spaces or control characters)";
    }

    /// <summary>The pod's instance label for this user's request: 16 hex digits of SHA-256 over both.</summary>
    public static string Instance(string userId, string requestId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(requestId);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(userId + "\n" + requestId));
        return Convert.ToHexStringLower(hash.AsSpan(0, 8));
    }

    /// <summary>The name suffix for an instance, from the alphabet Kubernetes uses for generated names.</summary>
    public static string NameSuffix(string instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var value = Convert.ToUInt64(instance, 16);
        var suffix = new char[NameSuffixLength];
        for (var i = 0; i < suffix.Length; i++)
        {
            suffix[i] = NameAlphabet[(int)(value % (ulong)NameAlphabet.Length)];
            value /= (ulong)NameAlphabet.Length;
        }

        return new string(suffix);
    }
}
