using System.Net;
using Sidecars.UserPods.Configuration;

namespace Sidecars.UserPods.Security;

/// <summary>
/// The address of the silo that made a request, as the original API used it (the NFS server of the user's storage
/// and the key into <see cref="UserPodsOptions.HostnameList"/>). Pure.
/// </summary>
public static class CallerAddress
{
    /// <summary>
    /// The peer address; behind a trusted proxy the last <c>X-Forwarded-For</c> entry (the one that proxy appended,
    /// so earlier entries a caller forged are never read); a loopback address becomes <see cref="UserPodsOptions.TestingHost"/> when set.
    /// </summary>
    public static IPAddress? Resolve(IPAddress? peer, string? forwardedFor, UserPodsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var address = Normalise(peer);
        if (address is not null && !string.IsNullOrWhiteSpace(forwardedFor)
            && options.TrustedProxies.Any(p => IPAddress.TryParse(p, out var proxy) && Normalise(proxy)!.Equals(address)))
        {
            var last = forwardedFor.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
            address = IPAddress.TryParse(last, out var forwarded) ? Normalise(forwarded) : null;
        }

        if (address is not null && IPAddress.IsLoopback(address) && IPAddress.TryParse(options.TestingHost, out var testing))
        {
            address = testing;
        }

        return address;
    }

    /// <summary>The silo with this address in <see cref="UserPodsOptions.HostnameList"/>, if any.</summary>
    public static HomeServer? HomeServerOf(IPAddress? address, UserPodsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return address is null ? null
            : options.HostnameList.FirstOrDefault(h => IPAddress.TryParse(h.Address, out var a) && Normalise(a)!.Equals(address));
    }

    private static IPAddress? Normalise(IPAddress? address) => address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;
}
