using System.Globalization;
using System.Net;
using Sidecars.AgentLifecycle;
using Sidecars.Conventions;

namespace Sidecars.Lightpeer;

/// <summary>Settings of a lightpeer, from arguments and the environment through the agent's one parser.</summary>
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

    /// <summary>
    /// Directory of the peer credentials (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>: the mounted Secret
    /// <see cref="SidecarsNames.LightpeerIdentitySecret"/>). Set, the peer port serves mutual TLS only and every peer is
    /// called over it; unset, everything is plain h2c and any caller may Join or Forget.
    /// </summary>
    public string? TlsDirectory { get; set; }

    public string SelfAddress => Address.Contains(':', StringComparison.Ordinal)
        ? $"[{Address}]:{Port.ToString(CultureInfo.InvariantCulture)}"
        : $"{Address}:{Port.ToString(CultureInfo.InvariantCulture)}";

    public const string Section = "Lightpeer";

    public static readonly IReadOnlyList<AgentOption> Options =
    [
        new("address", "IP the servers bind to and the peer advertises", SidecarsNames.PodIpEnv, Value: "IP"),
        new("port", "peer port (default 9081)", Value: "N"),
        new("health-port", "port of /healthz, /readyz, /metrics (default 9091, 0 = none)", Value: "N"),
        new("check-interval", "seconds between health-check rounds (default 5)", Value: "SECONDS"),
        new("checks-per-interval", "peers checked per round (default 8)", Value: "N"),
        new("call-timeout", "bound on one check or exchange, seconds (default 2)", Value: "SECONDS"),
        new("failure-threshold", "failed checks after which a peer is dropped (default 2)", Value: "N"),
        new("forget-for", "seconds a dropped or forgotten peer stays out of gossip (default 60)", Value: "SECONDS"),
        new("tls-dir", "directory of tls.crt, tls.key, ca.crt: mutual TLS with the network CA (unset: plain, unauthenticated)", Value: "DIR"),
        new("exit-when-apps-done", "exit 0 once the pod's app containers have finished (watches the pod; Jobs)", Flag: true),
    ];

    public static string Usage => AgentArguments.Usage("lightpeer", Section, Options);

    /// <summary>Reads the options with the agent's one parser; a bad value is a <see cref="FormatException"/> naming it.</summary>
    public static LightpeerOptions Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var parsed = AgentArguments.Parse(Section, Options, args, environment);
        var defaults = new LightpeerOptions();
        var options = new LightpeerOptions
        {
            Address = parsed.Get("address") ?? defaults.Address,
            Port = parsed.WholeNumber("port", defaults.Port, 1, 65535),
            HealthPort = parsed.WholeNumber("health-port", defaults.HealthPort, 0, 65535),
            CheckInterval = parsed.Seconds("check-interval", defaults.CheckInterval),
            ChecksPerInterval = parsed.WholeNumber("checks-per-interval", defaults.ChecksPerInterval, 1, 10_000),
            CallTimeout = parsed.Seconds("call-timeout", defaults.CallTimeout),
            FailureThreshold = parsed.WholeNumber("failure-threshold", defaults.FailureThreshold, 1, 1000),
            ForgetFor = parsed.Seconds("forget-for", defaults.ForgetFor),
            ExitWhenAppsDone = parsed.Flag("exit-when-apps-done"),
            TlsDirectory = parsed.Get("tls-dir") is { Length: > 0 } tls ? tls : null,
        };
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

        if (TlsDirectory is not null && !System.IO.Directory.Exists(TlsDirectory))
        {
            throw new FormatException($"tls-dir '{TlsDirectory}' is not a directory (mount the Secret {SidecarsNames.LightpeerIdentitySecret} there)");
        }
    }
}
