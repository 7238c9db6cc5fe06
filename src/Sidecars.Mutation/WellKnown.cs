namespace Sidecars.Mutation;

/// <summary>Annotation keys read or written by Sidecars.</summary>
public static class SidecarsAnnotations
{
    public const string Prefix = "sidecars.io/";

    /// <summary>"true" opts a pod in where its namespace is not, "false" opts it out.</summary>
    public const string Inject = "sidecars.io/inject";

    /// <summary>The blessing extension the pod's identity is extended with; asks for the pod-agent sidecar.</summary>
    public const string Blessing = "sidecars.io/blessing";

    /// <summary>Name of the Kubernetes Secret holding the application's secret; defaults to <c>sidecars-&lt;blessing&gt;</c>.</summary>
    public const string BlessingSecret = "sidecars.io/blessing-secret";

    /// <summary>JSON object <c>{container: {VAR: value}}</c> of environment variables to set.</summary>
    public const string Settings = "sidecars.io/settings";

    /// <summary>Full name of the person who owns the pod (written by the webhook).</summary>
    public const string Owner = "sidecars.io/owner";

    /// <summary>Stamp of the creating user on a workload's pod template (written by the webhook).</summary>
    public const string CreatedBy = "sidecars.io/created-by";

    /// <summary>JSON record of what the webhook injected, keyed by stable names.</summary>
    public const string Injected = "sidecars.io/injected";

    /// <summary>Per-pod override of the injected containers' requests, e.g. <c>cpu=50m,memory=32Mi</c>.</summary>
    public const string SidecarRequests = "sidecars.io/sidecar-requests";

    /// <summary>Per-pod override of the injected containers' limits, e.g. <c>cpu=200m,memory=64Mi</c>.</summary>
    public const string SidecarLimits = "sidecars.io/sidecar-limits";

    /// <summary>"true" makes the pod-agent also write its TLS chain and key into the shared socket volume (opt-in).</summary>
    public const string ExportTls = "sidecars.io/export-tls";

    /// <summary>Keys of tokens the pod's first container writes for the user-pods API to collect.</summary>
    public const string CopyToken = "sciencedata.dk/copy-token";

    /// <summary>
    /// Full user_id of a pod created through the user-pods API. The cluster agent creates those pods with its own
    /// identity, so <see cref="Owner"/> (stamped by the webhook) names the cluster agent, not the user.
    /// </summary>
    public const string User = "sidecars.io/user";
}

/// <summary>Label keys read or written by Sidecars.</summary>
public static class SidecarsLabels
{
    /// <summary>Namespace label that opts every pod in the namespace in (value <c>enabled</c>).</summary>
    public const string NamespaceInjection = "sidecars.io/injection";
    public const string NamespaceInjectionEnabled = "enabled";

    /// <summary>Sanitised owner (a valid label value); the full name is in <see cref="SidecarsAnnotations.Owner"/>.</summary>
    public const string Owner = "sidecars.io/owner";

    /// <summary>Sanitised user_id of a user-pods API pod; the full value is in <see cref="SidecarsAnnotations.User"/>.</summary>
    public const string User = "sidecars.io/user";

    /// <summary>Set to "true" when the pod-agent sidecar was injected.</summary>
    public const string PodAgent = "sidecars.io/pod-agent";

    /// <summary>Set to "true" when the lightpeer sidecar was injected.</summary>
    public const string Lightpeer = "sidecars.io/lightpeer";

    /// <summary>The peer network a pod's lightpeer joins.</summary>
    public const string NetworkId = "klight.networkId";

    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "sidecars";

    /// <summary>Names the cluster (Deployment managed by the cluster agent) an object belongs to.</summary>
    public const string Cluster = "sidecars.io/cluster";
}

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

    /// <summary>
    /// The pod-agent's projected service-account token (<see cref="PodTokenVolume"/>): bound to its pod, with the
    /// cluster agent's audience, proving to the cluster agent which pod asks for a replica blessing.
    /// </summary>
    public const string PodTokenVolume = "sidecars-pod-token";
    public const string PodTokenDirectory = "/var/run/sidecars-pod-token";
    public const string PodTokenKey = "token";

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

    public static string DefaultSecretName(string blessingExtension) => "sidecars-" + blessingExtension;
}
