namespace Sidecars.Conventions;

/// <summary>Names of the objects the webhook injects; stable so reinvocation can recognise them.</summary>
public static class SidecarsNames
{
    public const string PodAgentContainer = "sidecars-pod-agent";
    public const string LightpeerContainer = "sidecars-lightpeer";
    public const string SocketVolume = "sidecars-socket";
    public const string SecretVolume = "sidecars-blessing-secret";
    public const string TokenVolume = "sidecars-token";
    /// <summary>
    /// Container port of the lightpeer's gRPC endpoint. Kubernetes port names allow only <c>[-a-z0-9]</c> (at most 15),
    /// so the apiserver would reject a pod with a port named <c>klightPort</c>.
    /// </summary>
    public const string LightpeerPortName = "klight-port";
    public const int LightpeerDefaultPort = 9081;
    public const string PodAgentHealthPortName = "agent-health";
    public const int PodAgentHealthPort = 9090;
    public const string LightpeerHealthPortName = "peer-health";
    public const int LightpeerHealthPort = 9091;

    /// <summary>Directory of the shared socket volume in every container.</summary>
    public const string SocketDirectory = "/var/run/sidecars";
    public const string SocketPath = "/var/run/sidecars/agent.sock";

    /// <summary>Where the pod-agent writes tls.crt, tls.key and ca.crt when the pod sets <see cref="SidecarsAnnotations.ExportTls"/>.</summary>
    public const string TlsDirectory = "/var/run/sidecars/tls";

    /// <summary>Where the pod-agent (only) sees the application's secret.</summary>
    public const string SecretDirectory = "/var/run/sidecars-secret";
    public const string SecretKey = "secret";

    /// <summary>The application's secret as the pod-agent reads it.</summary>
    public const string SecretFile = SecretDirectory + "/" + SecretKey;

    /// <summary>
    /// The pod-agent's projected service-account token (<see cref="PodTokenVolume"/>): bound to its pod, with the
    /// cluster agent's audience, proving to the cluster agent which pod asks for a replica blessing.
    /// </summary>
    public const string PodTokenVolume = "sidecars-pod-token";
    public const string PodTokenDirectory = "/var/run/sidecars-pod-token";
    public const string PodTokenKey = "token";

    /// <summary>The pod token as the pod-agent reads it.</summary>
    public const string PodTokenFile = PodTokenDirectory + "/" + PodTokenKey;

    /// <summary>Default audience of <see cref="PodTokenVolume"/>, the one the cluster agent reviews tokens for.</summary>
    public const string PodTokenAudience = "sidecars-cluster-agent";

    /// <summary>Lifetime asked for the pod token: the apiserver's minimum; the kubelet renews it at 80 %.</summary>
    public const int PodTokenExpirationSeconds = 600;

    /// <summary>
    /// Default directory of the shared token volume (<see cref="TokenVolume"/>): the pod's first app container writes
    /// token <c>key</c> to <c>&lt;directory&gt;/key</c> (told by <see cref="TokenDirectoryEnv"/>), the pod-agent serves it
    /// as <c>GET /token/key</c>. Configurable as <c>Injection:TokenDirectory</c>.
    /// </summary>
    public const string TokenDirectory = "/var/run/sidecars-tokens";
    public const string TokenDirectoryEnv = "SIDECARS_TOKEN_DIR";

    /// <summary>Where Kubernetes mounts a pod's service account token; copied into sidecars that watch their pod.</summary>
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";
    public const string ServiceAccountDirectoryEnv = "SIDECARS_SERVICE_ACCOUNT_DIR";

    /// <summary>Environment variable that tells apps where the pod-agent's socket is.</summary>
    public const string SocketEnv = "SIDECARS_AGENT_SOCKET";
    public const string ClusterAgentEnv = "SIDECARS_CLUSTER_AGENT";
    public const string PodIpEnv = "POD_IP";
    public const string PodNameEnv = "POD_NAME";
    public const string PodNamespaceEnv = "POD_NAMESPACE";

    /// <summary>The peer network of a lightpeer pod (the value of <see cref="SidecarsLabels.NetworkId"/>).</summary>
    public const string NetworkIdEnv = "KLIGHT_NETWORK_ID";

    public static string DefaultSecretName(string blessingExtension) => "sidecars-" + blessingExtension;
}
