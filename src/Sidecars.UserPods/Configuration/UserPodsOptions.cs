using Sidecars.Conventions;

namespace Sidecars.UserPods.Configuration;

/// <summary>
/// Settings of the user-pods API, section <see cref="Section"/> of the host's configuration (appsettings,
/// <c>Sidecars__UserPods__IngressDomain</c>, <c>--Sidecars:UserPods:IngressDomain=</c>) and of the YAML file and
/// environment aliases <see cref="UserPodsConfiguration"/> adds. Durations use the <c>hh:mm:ss</c> form.
/// </summary>
public sealed class UserPodsOptions
{
    public const string Section = "Sidecars:UserPods";

    /// <summary>YAML file of this section's keys (also <c>--config</c> or <c>SIDECARS_CONFIG</c>); none by default.</summary>
    public string? ConfigFile { get; set; }

    /// <summary>Namespace the user pods and their Services, Ingresses and token Secrets live in.</summary>
    public string Namespace { get; set; } = "sidecars-user-pods";

    /// <summary>How long a created pod has to become Ready before it and its resources are deleted.</summary>
    public TimeSpan CreateTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long watch_delete_pod waits for a pod to disappear.</summary>
    public TimeSpan DeleteTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Grace period given to a deleted pod's containers.</summary>
    public TimeSpan DeleteGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Regular expression the whole manifest URL must match; anything else is refused.</summary>
    public string ManifestWhitelist { get; set; } = @"https://raw\.githubusercontent\.com/deic-dk/pod_manifests/[A-Za-z0-9._/-]+\.yaml";

    public TimeSpan ManifestFetchTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest manifest accepted, in bytes.</summary>
    public int ManifestByteLimit { get; set; } = 256 * 1024;

    /// <summary>Largest token accepted, in bytes; a larger one is refused and not cached.</summary>
    public int TokenByteLimit { get; set; } = 4096;

    public TimeSpan TokenFetchTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The pod-agent's token port: <c>GET /token/&lt;key&gt;</c> over TLS on the pod IP, for this client certificate only.</summary>
    public int TokenPort { get; set; } = SidecarsNames.PodAgentTokenPort;

    /// <summary>
    /// PEM certificate the cluster agent presents to the pod-agents' token port: it chains to the CA bundle the pod-agents
    /// trust, allows client authentication and carries the DNS name <see cref="SidecarsNames.TokenReaderName"/>. Without it
    /// (and <see cref="TokenClientKeyFile"/>) tokens are not collected.
    /// </summary>
    public string? TokenClientCertificateFile { get; set; }

    /// <summary>PEM private key of <see cref="TokenClientCertificateFile"/>.</summary>
    public string? TokenClientKeyFile { get; set; }

    /// <summary>Registry that replaces the <c>LOCALREGISTRY/</c> image prefix; empty leaves images alone.</summary>
    public string RegistryUrl { get; set; } = string.Empty;

    /// <summary>Image pull secret added to every pod when set.</summary>
    public string RegistryPullSecret { get; set; } = string.Empty;

    /// <summary>Ingresses get the host <c>&lt;pod&gt;.&lt;IngressDomain&gt;</c>.</summary>
    public string IngressDomain { get; set; } = "pods.sidecars.local";

    /// <summary>Wildcard TLS secret for <c>*.&lt;IngressDomain&gt;</c>; empty serves the Ingress without TLS.</summary>
    public string IngressTlsSecret { get; set; } = string.Empty;

    /// <summary>Ingress class of created Ingresses; empty uses the cluster default.</summary>
    public string IngressClassName { get; set; } = string.Empty;

    /// <summary>Name of the manifest volume that becomes the user's storage claim.</summary>
    public string StorageVolumeName { get; set; } = "sciencedata";

    /// <summary>Claim name of a user's storage; <c>{user}</c> is replaced by the user's name as <see cref="Sidecars.Conventions.OwnerNames.ToDnsLabel"/> gives it.</summary>
    public string StorageClaimTemplate { get; set; } = "sciencedata-{user}";

    /// <summary>
    /// restartPolicy of a pod whose manifest sets none (Always, OnFailure or Never); a manifest's own policy is kept.
    /// </summary>
    public string DefaultRestartPolicy { get; set; } = "Always";

    /// <summary>
    /// Path on the calling silo's NFS server under which each user's storage lives (<c>&lt;root&gt;/&lt;user_id&gt;</c>).
    /// When set, the first pod of a user that mounts <see cref="StorageVolumeName"/> creates the user's NFS
    /// PersistentVolume and claim; delete_all_user deletes them again. Empty: the claim must already exist.
    /// </summary>
    public string NfsStorageRoot { get; set; } = string.Empty;

    /// <summary>Capacity recorded on a user's NFS PersistentVolume and claim (NFS itself enforces no quota).</summary>
    public string StorageCapacity { get; set; } = "10Gi";

    /// <summary>
    /// Address that stands for the calling silo when a request comes from a loopback address (tests on the
    /// silo's own machine): the NFS server and the key into <see cref="HostnameList"/>. Empty: loopback is used as is.
    /// </summary>
    public string TestingHost { get; set; } = string.Empty;

    /// <summary>
    /// Silos by address: a pod created by a request from <c>Address</c> gets <c>HOME_SERVER_HOSTNAME</c> and
    /// <c>HOME_SERVER_IP</c> in every container.
    /// </summary>
    public IList<HomeServer> HostnameList { get; } = [];

    /// <summary>
    /// Addresses of the proxies (ingress controllers) in front of the API. Only a request whose peer is one of them has
    /// its caller address taken from <c>X-Forwarded-For</c> (the entry the proxy appended); any other request's
    /// address is its peer address, so a caller cannot claim to be another silo.
    /// </summary>
    public IList<string> TrustedProxies { get; } = [];

    /// <summary>API keys of the callers (portals, operators).</summary>
    public IList<UserPodsCaller> Callers { get; } = [];
}

/// <summary>A caller presenting <c>authorization: Bearer &lt;Key&gt;</c> acts as <see cref="UserId"/>.</summary>
public sealed class UserPodsCaller
{
    public string Key { get; set; } = string.Empty;

    public string UserId { get; set; } = string.Empty;

    /// <summary>An operator may act for every user.</summary>
    public bool Operator { get; set; }
}

/// <summary>A silo of the original deployment: its host name and the address its requests come from.</summary>
public sealed class HomeServer
{
    public string Hostname { get; set; } = string.Empty;

    public string Address { get; set; } = string.Empty;
}
