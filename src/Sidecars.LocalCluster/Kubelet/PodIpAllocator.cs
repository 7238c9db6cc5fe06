using System.Net;

namespace Sidecars.LocalCluster;

/// <summary>
/// Hands out unique loopback pod IPs from 127.1.0.1–127.254.255.254 (never 127.0.0.0/16, host and broadcast-looking
/// octets skipped). Allocation continues after the last address handed out, so a released address is not reused
/// until the range wraps; that keeps a dying pod's sockets from colliding with its successor's.
/// </summary>
public sealed class PodIpAllocator
{
    private const uint First = (127u << 24) | (1u << 16) | 1u;
    private const uint Last = (127u << 24) | (254u << 16) | (255u << 8) | 254u;

    private readonly HashSet<uint> _allocated = [];
    private readonly Lock _gate = new();
    private uint _next;

    /// <param name="startBlock">Second octet to start from (1–254); separate kubelets on one machine should differ.</param>
    public PodIpAllocator(byte startBlock = 1)
    {
        ArgumentOutOfRangeException.ThrowIfZero(startBlock);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(startBlock, (byte)254);
        _next = (127u << 24) | ((uint)startBlock << 16) | 1u;
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _allocated.Count;
            }
        }
    }

    public IPAddress Allocate()
    {
        lock (_gate)
        {
            for (var candidate = _next; ; candidate = Advance(candidate))
            {
                if (IsUsable(candidate) && _allocated.Add(candidate))
                {
                    _next = Advance(candidate);
                    return ToAddress(candidate);
                }

                if (Advance(candidate) == _next)
                {
                    throw new InvalidOperationException("No free loopback pod IP is left.");
                }
            }
        }
    }

    public bool Release(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (_gate)
        {
            return _allocated.Remove(ToUInt(address));
        }
    }

    public bool IsAllocated(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (_gate)
        {
            return _allocated.Contains(ToUInt(address));
        }
    }

    private static bool IsUsable(uint value)
    {
        var last = value & 0xFF;
        return value is >= First and <= Last && last is not 0 and not 255;
    }

    private static uint Advance(uint value) => value >= Last ? First : value + 1;

    private static IPAddress ToAddress(uint value) =>
        new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);

    private static uint ToUInt(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        if (bytes.Length != 4)
        {
            throw new ArgumentException($"{address} is not an IPv4 address.", nameof(address));
        }

        return ((uint)bytes[0] << 24) | ((uint)bytes[1] << 16) | ((uint)bytes[2] << 8) | bytes[3];
    }
}
