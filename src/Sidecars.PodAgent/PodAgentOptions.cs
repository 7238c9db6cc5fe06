using Sidecars.Conventions;

namespace Sidecars.PodAgent;

/// <summary>The pod-agent's settings, from <c>--name value</c> arguments or their environment variables.</summary>
public sealed record PodAgentOptions
{
    public const string DefaultSocket = SidecarsNames.SocketPath;
    public const string DefaultSecretFile = SidecarsNames.SecretFile;
    public const string DefaultPodTokenFile = SidecarsNames.PodTokenFile;

    /// <summary>Unix socket served to the pod's apps (<c>--socket</c>, SIDECARS_AGENT_SOCKET).</summary>
    public required string Socket { get; init; }

    /// <summary>File holding the application's secret (<c>--secret-file</c>, SIDECARS_SECRET_FILE).</summary>
    public string SecretFile { get; init; } = DefaultSecretFile;

    /// <summary>
    /// The pod's projected service-account token for the cluster agent's audience (<c>--pod-token-file</c>,
    /// SIDECARS_POD_TOKEN_FILE), read afresh for every SeekBlessings since the kubelet rotates it; sent when present.
    /// </summary>
    public string PodTokenFile { get; init; } = DefaultPodTokenFile;

    /// <summary>The application extension the secret is expected to bless (<c>--blessing</c>, SIDECARS_BLESSING); informational.</summary>
    public string? Blessing { get; init; }

    /// <summary>gRPC address of the cluster agent (<c>--cluster-agent</c>, SIDECARS_CLUSTER_AGENT).</summary>
    public Uri? ClusterAgent { get; init; }

    /// <summary>
    /// PEM bundle of the CAs the cluster agent's TLS certificate may chain to, the only ones trusted (<c>--cluster-agent-ca</c>,
    /// SIDECARS_CLUSTER_AGENT_CA); read again for every new connection. The webhook passes the mounted <c>sidecars-ca</c> ConfigMap.
    /// </summary>
    public string? ClusterAgentCa { get; init; }

    /// <summary>Allows plaintext HTTP/2 to a non-loopback cluster agent (<c>--allow-insecure</c>).</summary>
    public bool AllowInsecure { get; init; }

    /// <summary>The replica's name, normally the pod name (<c>--pod-name</c>, POD_NAME).</summary>
    public string? PodName { get; init; }

    /// <summary>Address of the health and metrics endpoint (<c>--pod-ip</c>, POD_IP).</summary>
    public string PodIp { get; init; } = "127.0.0.1";

    /// <summary>Port of /healthz, /readyz and /metrics (<c>--health-port</c>); 0 disables the endpoint.</summary>
    public int HealthPort { get; init; } = SidecarsNames.PodAgentHealthPort;

    /// <summary>Fraction of a blessing's lifetime after which it is renewed (<c>--renew-at</c>).</summary>
    public double RenewAt { get; init; } = 2.0 / 3.0;

    /// <summary>Only wait until the socket serves blessings, then exit 0 (<c>--wait-ready</c>): a postStart hook.</summary>
    public bool WaitReady { get; init; }

    /// <summary>How long <c>--wait-ready</c> waits (<c>--timeout</c>, seconds).</summary>
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Exit 0 once every app container of the pod has finished, so Jobs complete (<c>--exit-when-apps-done</c>); watches
    /// the pod through the Kubernetes API (see <see cref="AgentLifecycle.AppsDoneSettings"/>).
    /// </summary>
    public bool ExitWhenAppsDone { get; init; }

    /// <summary>Opt-in export of the TLS material (chain, key, roots) into this directory (<c>--tls-dir</c>, SIDECARS_TLS_DIR).</summary>
    public string? TlsDirectory { get; init; }

    /// <summary>
    /// Directory of the shared token volume served as <c>GET /token/{key}</c> on <see cref="TokenPort"/> (<c>--token-dir</c>,
    /// SIDECARS_TOKEN_DIR).
    /// </summary>
    public string? TokenDirectory { get; init; }

    /// <summary>Port of the token endpoint, TLS on the pod IP (<c>--token-port</c>); 0 disables it.</summary>
    public int TokenPort { get; init; } = SidecarsNames.PodAgentTokenPort;

    /// <summary>
    /// PEM bundle of the CA(s) a token reader's client certificate must chain to (<c>--token-reader-ca</c>,
    /// SIDECARS_TOKEN_READER_CA); defaults to <see cref="ClusterAgentCa"/>. Without one every token request is refused.
    /// </summary>
    public string? TokenReaderCa { get; init; }

    /// <summary>The DNS name a token reader's client certificate must carry (<c>--token-reader</c>, SIDECARS_TOKEN_READER).</summary>
    public string TokenReader { get; init; } = SidecarsNames.TokenReaderName;

    /// <summary>Largest token served; a larger one answers 413 (<c>--token-byte-limit</c>).</summary>
    public int TokenByteLimit { get; init; } = 64 * 1024;

    /// <summary>Serve only health, metrics and tokens: no secret, blessing or socket (<c>--tokens-only</c>).</summary>
    public bool TokensOnly { get; init; }
}
