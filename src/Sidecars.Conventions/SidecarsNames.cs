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

    /// <summary>The lightpeer port name older manifests use; valid in a pod only where the apiserver does not check it.</summary>
    public const string LightpeerLegacyPortName = "klightPort";

    /// <summary>
    /// Name of the container a pod that brings its own lightpeer gives it. With this name, or a port named
    /// <see cref="LightpeerPortName"/> (or <see cref="LightpeerLegacyPortName"/>), the webhook injects no second lightpeer.
    /// </summary>
    public const string OwnLightpeerContainer = "lightpeer";
    public const int LightpeerDefaultPort = 9081;
    public const string PodAgentHealthPortName = "agent-health";
    public const int PodAgentHealthPort = 9090;
    public const string LightpeerHealthPortName = "peer-health";
    public const int LightpeerHealthPort = 9091;

    /// <summary>
    /// The pod-agent's token port: <c>GET /token/key</c> over TLS on the pod IP, answered only to the
    /// <see cref="TokenReaderName"/> presenting its client certificate. Health and metrics stay plain on
    /// <see cref="PodAgentHealthPort"/>.
    /// </summary>
    public const string PodAgentTokenPortName = "agent-tokens";
    public const int PodAgentTokenPort = 9092;

    /// <summary>
    /// The DNS name the cluster agent's client certificate carries (its Service's name) and the pod-agent requires of
    /// a token reader; the certificate must chain to the cluster agent's CA bundle the pod-agent is given.
    /// </summary>
    public const string TokenReaderName = "sidecars-cluster-agent.sidecars-system.svc";

    /// <summary>The cluster agent's gRPC port (HTTPS) and its plain probes and metrics port.</summary>
    public const int ClusterAgentPort = 8443;
    public const int ClusterAgentMetricsPort = 9090;

    /// <summary>
    /// Sidecars' seccomp profile, relative to the kubelet's seccomp root (<c>/var/lib/kubelet/seccomp</c>), where the
    /// node-profiles DaemonSet installs it: the <c>localhostProfile</c> of the injected sidecars and of the webhook.
    /// </summary>
    public const string SeccompProfile = "sidecars/sidecars.json";

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

    /// <summary>
    /// The Secret in the cluster agent's namespace holding its HTTPS serving certificate (<see cref="ClusterAgentTlsCertificateKey"/>,
    /// <see cref="ClusterAgentTlsKeyKey"/>) and the CA bundle pod-agents trust for it (<see cref="ClusterAgentCaKey"/>; during a
    /// rotation the old and the new CA, concatenated as PEM).
    /// </summary>
    public const string ClusterAgentTlsSecret = "sidecars-cluster-agent-tls";
    public const string ClusterAgentCaKey = "ca.crt";
    public const string ClusterAgentTlsCertificateKey = "tls.crt";
    public const string ClusterAgentTlsKeyKey = "tls.key";

    /// <summary>
    /// The ConfigMap the cluster agent keeps in every opted-in namespace, equal to the <see cref="ClusterAgentCaKey"/> of
    /// <see cref="ClusterAgentTlsSecret"/> under the key <see cref="TrustBundleKey"/>; the webhook mounts it (optional) as
    /// <see cref="TrustBundleVolume"/> at <see cref="TrustBundleDirectory"/> in the pod-agent.
    /// </summary>
    public const string TrustBundleConfigMap = "sidecars-ca";
    public const string TrustBundleKey = "ca.crt";
    public const string TrustBundleVolume = "sidecars-ca";
    public const string TrustBundleDirectory = "/var/run/sidecars-ca";

    /// <summary>The cluster agent's CA bundle as the pod-agent reads it.</summary>
    public const string TrustBundleFile = TrustBundleDirectory + "/" + TrustBundleKey;

    /// <summary>Where Kubernetes mounts a pod's service account token; copied into sidecars that watch their pod.</summary>
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";
    public const string ServiceAccountDirectoryEnv = "SIDECARS_SERVICE_ACCOUNT_DIR";

    /// <summary>Environment variable that tells apps where the pod-agent's socket is.</summary>
    public const string SocketEnv = "SIDECARS_AGENT_SOCKET";
    public const string ClusterAgentEnv = "SIDECARS_CLUSTER_AGENT";
    public const string PodIpEnv = "POD_IP";
    public const string PodNameEnv = "POD_NAME";
    public const string PodNamespaceEnv = "POD_NAMESPACE";

    /// <summary>
    /// The Secret in the cluster agent's namespace holding the network CA (<c>authority.crt</c>, <c>authority.key</c>),
    /// the bundle lightpeers trust (<see cref="LightpeerCaKey"/>) and the network controller's own certificate
    /// (<see cref="LightpeerCertificateKey"/>, <see cref="LightpeerKeyKey"/>, named <see cref="NetworkControllerName"/>).
    /// </summary>
    public const string LightpeerCaSecret = "sidecars-lightpeer-ca";

    /// <summary>
    /// The Secret the cluster agent keeps in every namespace that runs lightpeer pods: the network CA bundle and the
    /// namespace's peer certificate (<see cref="LightpeerPeerName"/>); mounted at <see cref="LightpeerIdentityDirectory"/>
    /// and read by the lightpeer's <c>--tls-dir</c>. A lightpeer pod that mounts it is spoken to over mutual TLS.
    /// </summary>
    public const string LightpeerIdentitySecret = "sidecars-lightpeer-identity";
    public const string LightpeerIdentityVolume = "sidecars-lightpeer-identity";
    public const string LightpeerIdentityDirectory = "/var/run/sidecars-lightpeer";
    public const string LightpeerCaKey = "ca.crt";
    public const string LightpeerCertificateKey = "tls.crt";
    public const string LightpeerKeyKey = "tls.key";

    /// <summary>
    /// The DNS name of the network controller's client certificate: the only caller a lightpeer lets <c>Join</c> or
    /// <c>Forget</c>. A peer name (<see cref="LightpeerPeerName"/>) can never equal it (namespace names have no dots).
    /// </summary>
    public const string NetworkControllerName = "network-controller.sidecars.internal";

    /// <summary>Suffix of the peer names; the namespace comes first.</summary>
    public const string LightpeerPeerNameSuffix = ".lightpeer.sidecars.internal";

    /// <summary>The DNS name of the peer certificate of the lightpeers of <paramref name="namespace"/>.</summary>
    public static string LightpeerPeerName(string @namespace) => @namespace + LightpeerPeerNameSuffix;

    /// <summary>The peer network of a lightpeer pod (the value of <see cref="SidecarsLabels.NetworkId"/>).</summary>
    public const string NetworkIdEnv = "KLIGHT_NETWORK_ID";

    public static string DefaultSecretName(string blessingExtension) => "sidecars-" + blessingExtension;
}
