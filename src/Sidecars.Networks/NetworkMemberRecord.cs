using System.Globalization;
using Sidecars.Conventions;

namespace Sidecars.Networks;

/// <summary>
/// The membership the leading cluster agent records on a lightpeer pod (annotation
/// <see cref="SidecarsAnnotations.NetworkMember"/>: <c>&lt;network&gt; &lt;address&gt; &lt;joined-at&gt;</c>), so that
/// every replica lists the same members and a new leader carries on with them. Pure.
/// </summary>
public static class NetworkMemberRecord
{
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public static string Format(string network, NetworkMember member)
    {
        ArgumentNullException.ThrowIfNull(member);
        return $"{network} {member.Address} {member.JoinedAt.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture)}";
    }

    /// <summary>The member the record names for this pod; null when absent, malformed or of another network.</summary>
    public static NetworkMember? Parse(string? value, string network, string @namespace, string pod, string uid)
    {
        var parts = value?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts is [var recordedNetwork, var address, var joinedAt]
            && recordedNetwork == network
            && DateTimeOffset.TryParseExact(joinedAt, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? new NetworkMember(@namespace, pod, uid, address, at)
            : null;
    }

    /// <summary>A join time as the record keeps it (milliseconds), so that memory and record compare equal.</summary>
    public static DateTimeOffset Precision(DateTimeOffset at) => DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds());
}
