using System.Globalization;
using System.Net;
using Sidecars.Conventions;

namespace Sidecars.Lightpeer;

/// <summary>Settings of a lightpeer, from arguments (<c>--name value</c>) and the environment.</summary>
public sealed class LightpeerOptions
{
    /// <summary>IP the servers bind to and the peer advertises (POD_IP).</summary>
    public string Address { get; set; } = "127.0.0.1";

    public int Port { get; set; } = SidecarsNames.LightpeerDefaultPort;

    public int HealthPort { get; set; } = SidecarsNames.LightpeerHealthPort;

    /// <summary>How often a batch of peers is health-checked and one random peer is exchanged with.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Peers health-checked per interval, in turn, so a peer's cost stays flat as its network grows (checking every
    /// peer every interval costs a network of n peers n² calls). The network controller tells every member to forget
    /// a purged pod, so the peers' own checks are the backstop, not the first line.
    /// </summary>
    public int ChecksPerInterval { get; set; } = 8;

    /// <summary>Bound on one health check or exchange.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Consecutive failed health checks after which a peer is dropped.</summary>
    public int FailureThreshold { get; set; } = 2;

    /// <summary>How long a dropped or forgotten peer is kept out of gossip.</summary>
    public TimeSpan ForgetFor { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Exit 0 once the pod's app containers have finished (<c>--exit-when-apps-done</c>, legacy Job pods).</summary>
    public bool ExitWhenAppsDone { get; set; }

    public string SelfAddress => Address.Contains(':', StringComparison.Ordinal)
        ? $"[{Address}]:{Port.ToString(CultureInfo.InvariantCulture)}"
        : $"{Address}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Parses <c>--address --port --health-port --check-interval --checks-per-interval --call-timeout --failure-threshold --forget-for</c>
    /// (durations in seconds); the address defaults to $POD_IP.</summary>
    public static LightpeerOptions Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var options = new LightpeerOptions();
        var podIp = environment(SidecarsNames.PodIpEnv);
        if (!string.IsNullOrEmpty(podIp))
        {
            options.Address = podIp;
        }

        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new FormatException($"option {name} needs a value");
            switch (name)
            {
                case "--address": options.Address = Value(); break;
                case "--port": options.Port = Int(name, Value()); break;
                case "--health-port": options.HealthPort = Int(name, Value()); break;
                case "--check-interval": options.CheckInterval = Seconds(name, Value()); break;
                case "--call-timeout": options.CallTimeout = Seconds(name, Value()); break;
                case "--checks-per-interval": options.ChecksPerInterval = Int(name, Value()); break;
                case "--failure-threshold": options.FailureThreshold = Int(name, Value()); break;
                case "--forget-for": options.ForgetFor = Seconds(name, Value()); break;
                case "--exit-when-apps-done": options.ExitWhenAppsDone = true; break;
                default: throw new FormatException($"unknown option {name}");
            }
        }

        options.Validate();
        return options;
    }

    public void Validate()
    {
        if (!IPAddress.TryParse(Address, out _))
        {
            throw new FormatException($"address '{Address}' is not an IP address (set --address or POD_IP)");
        }

        if (Port is < 1 or > 65535 || HealthPort is < 0 or > 65535)
        {
            throw new FormatException("ports must be between 1 and 65535");
        }

        if (CheckInterval <= TimeSpan.Zero || CallTimeout <= TimeSpan.Zero || FailureThreshold < 1 || ChecksPerInterval < 1)
        {
            throw new FormatException("check interval and call timeout must be positive, the failure threshold and checks per interval at least 1");
        }
    }

    private static int Int(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw new FormatException($"{name}: '{value}' is not a number");

    private static TimeSpan Seconds(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : throw new FormatException($"{name}: '{value}' is not a positive number of seconds");
}
