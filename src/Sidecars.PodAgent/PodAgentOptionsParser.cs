using Sidecars.AgentLifecycle;
using Sidecars.Conventions;

namespace Sidecars.PodAgent;

/// <summary>The pod-agent's options, read by the agent's one argument parser (<see cref="AgentArguments"/>).</summary>
public static class PodAgentOptionsParser
{
    public const string Section = "PodAgent";

    public static readonly IReadOnlyList<AgentOption> Options =
    [
        new("socket", "Unix socket for the pod's apps (default /var/run/sidecars/agent.sock)", SidecarsNames.SocketEnv, Value: "PATH"),
        new("secret-file", "the application's secret (default /var/run/sidecars-secret/secret)", "SIDECARS_SECRET_FILE", Value: "PATH"),
        new("pod-token-file", "the pod's service-account token for the cluster agent (default /var/run/sidecars-pod-token/token)",
            "SIDECARS_POD_TOKEN_FILE", Value: "PATH"),
        new("blessing", "expected application extension", "SIDECARS_BLESSING", Value: "EXT"),
        new("cluster-agent", "cluster agent gRPC address", SidecarsNames.ClusterAgentEnv, Value: "URL"),
        new("cluster-agent-ca", "PEM bundle of the CAs trusted for the cluster agent (only these; re-read per connection)", "SIDECARS_CLUSTER_AGENT_CA", Value: "PATH"),
        new("allow-insecure", "allow plaintext HTTP/2 to a non-loopback cluster agent", "SIDECARS_ALLOW_INSECURE", Flag: true),
        new("pod-name", "replica name", SidecarsNames.PodNameEnv, Value: "NAME"),
        new("pod-ip", "address of the health endpoint (default 127.0.0.1)", SidecarsNames.PodIpEnv, Value: "IP"),
        new("health-port", "plain HTTP port of /healthz, /readyz, /metrics (default 9090, 0 = none)", Value: "N"),
        new("renew-at", "renew after this fraction of the lifetime (default 0.667)", Value: "F"),
        new("wait-ready", "wait until the socket serves blessings, then exit 0", Flag: true),
        new("timeout", "how long --wait-ready waits (default 60)", Value: "SECONDS"),
        new("tls-dir", "also write tls.crt, tls.key, ca.crt there after each issuance", "SIDECARS_TLS_DIR", Value: "PATH"),
        new("exit-when-apps-done", "exit 0 once the pod's app containers have finished (watches the pod; Jobs)", Flag: true),
        new("token-dir", "serve the token files there as GET /token/<key> on the token port", SidecarsNames.TokenDirectoryEnv, Value: "PATH"),
        new("token-port", "TLS port of the token endpoint, for the token reader only (default 9092, 0 = none)", Value: "N"),
        new("token-reader-ca", "PEM of the CA(s) a token reader's client certificate chains to (default: --cluster-agent-ca)",
            "SIDECARS_TOKEN_READER_CA", Value: "PATH"),
        new("token-reader", $"DNS name a token reader's client certificate carries (default {SidecarsNames.TokenReaderName})",
            "SIDECARS_TOKEN_READER", Value: "NAME"),
        new("token-byte-limit", "largest token served (default 65536)", Value: "N"),
        new("tokens-only", "serve only health, metrics and tokens (no secret or blessing)", Flag: true),
    ];

    public static string Usage => AgentArguments.Usage("pod-agent", Section, Options);

    public static bool TryParse(IReadOnlyList<string> args, Func<string, string?> environment, out PodAgentOptions? options, out string? error)
    {
        options = null;
        try
        {
            options = Parse(AgentArguments.Parse(Section, Options, args, environment));
        }
        catch (FormatException e)
        {
            error = e.Message;
            return false;
        }

        error = Validate(options);
        return error is null;
    }

    private static PodAgentOptions Parse(AgentArguments args) => new()
    {
        Socket = args.Get("socket") ?? PodAgentOptions.DefaultSocket,
        SecretFile = args.Get("secret-file") ?? PodAgentOptions.DefaultSecretFile,
        PodTokenFile = args.Get("pod-token-file") ?? PodAgentOptions.DefaultPodTokenFile,
        Blessing = args.Get("blessing"),
        ClusterAgent = ClusterAgent(args.Get("cluster-agent")),
        ClusterAgentCa = args.Get("cluster-agent-ca"),
        AllowInsecure = args.Flag("allow-insecure"),
        PodName = args.Get("pod-name"),
        PodIp = args.Get("pod-ip") ?? "127.0.0.1",
        HealthPort = args.WholeNumber("health-port", SidecarsNames.PodAgentHealthPort, 0, 65535),
        RenewAt = args.Number("renew-at", 2.0 / 3.0, 0.05, 0.95),
        WaitReady = args.Flag("wait-ready"),
        WaitTimeout = TimeSpan.FromSeconds(args.WholeNumber("timeout", 60, 1, 86400)),
        ExitWhenAppsDone = args.Flag("exit-when-apps-done"),
        TlsDirectory = args.Get("tls-dir"),
        TokenDirectory = args.Get("token-dir"),
        TokenPort = args.WholeNumber("token-port", SidecarsNames.PodAgentTokenPort, 0, 65535),
        TokenReaderCa = args.Get("token-reader-ca") ?? args.Get("cluster-agent-ca"),
        TokenReader = args.Get("token-reader") ?? SidecarsNames.TokenReaderName,
        TokenByteLimit = args.WholeNumber("token-byte-limit", 64 * 1024, 1, 16 * 1024 * 1024),
        TokensOnly = args.Flag("tokens-only"),
    };

    private static Uri? ClusterAgent(string? address)
    {
        if (address is null)
        {
            return null;
        }

        if (!address.Contains("://", StringComparison.Ordinal))
        {
            address = "https://" + address;
        }

        return Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new FormatException($"--cluster-agent '{address}' is not an http(s) URL");
    }

    private static string? Validate(PodAgentOptions options)
    {
        if (options.TokenPort != 0 && options.TokenPort == options.HealthPort)
        {
            return $"--token-port {options.TokenPort} must differ from --health-port: tokens are not served on the plain port";
        }

        if (options.WaitReady || options.TokensOnly)
        {
            return null;
        }

        if (options.ClusterAgent is null)
        {
            return "--cluster-agent (or SIDECARS_CLUSTER_AGENT) is required";
        }

        if (string.IsNullOrEmpty(options.PodName))
        {
            return "--pod-name (or POD_NAME) is required";
        }

        return options.ClusterAgent.Scheme == "http" && !options.ClusterAgent.IsLoopback && !options.AllowInsecure
            ? $"refusing to send the secret in plaintext to {options.ClusterAgent}: use https (with --cluster-agent-ca) or --allow-insecure"
            : null;
    }
}
