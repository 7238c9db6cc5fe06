using System.ComponentModel.DataAnnotations;
using Sidecars.Conventions;
using Microsoft.Extensions.Options;

namespace Sidecars.Mutation;

/// <summary>
/// What the webhook injects and rewrites. Bound from the configuration section <see cref="Section"/> and checked
/// by <see cref="InjectionOptionsValidator"/> at start.
/// </summary>
public sealed class InjectionOptions
{
    public const string Section = "Sidecars:Injection";

    /// <summary>Placeholder registry in images that <see cref="Registry"/> replaces.</summary>
    public const string LocalRegistry = "LOCALREGISTRY";

    /// <summary>Image of both sidecars (the agent binary with its two roles); registry-rewritten like app images.</summary>
    [Required]
    public string AgentImage { get; set; } = LocalRegistry + "/sidecars/agent:latest";

    /// <summary>
    /// Path of the agent binary inside <see cref="AgentImage"/>, used by the legacy-mode postStart hook that holds
    /// the app containers back until the agent is ready.
    /// </summary>
    [Required]
    public string AgentBinary { get; set; } = "/usr/local/bin/sidecars-agent";

    /// <summary>Replacement for <c>LOCALREGISTRY</c>, e.g. <c>registry.example.org/team</c>; empty turns rewriting off.</summary>
    public string Registry { get; set; } = "";

    /// <summary>Pull secret added (once) to pods that pull from <see cref="Registry"/>.</summary>
    public string? ImagePullSecret { get; set; }

    /// <summary>Name of the pod volume re-pointed to the owner's PersistentVolumeClaim.</summary>
    [Required]
    public string VolumeName { get; set; } = "sciencedata";

    /// <summary>Claim name of the re-pointed volume; placeholders <c>{owner}</c> (sanitised) and <c>{namespace}</c>.</summary>
    [Required]
    public string ClaimNameTemplate { get; set; } = "sciencedata-{owner}";

    /// <summary>gRPC address of the cluster agent, given to the sidecars as SIDECARS_CLUSTER_AGENT (omitted when empty).</summary>
    public string ClusterAgentAddress { get; set; } = "";

    /// <summary>
    /// Audience of the pod-agent's projected service-account token; the cluster agent reviews tokens for the same
    /// audience (<c>Sidecars:Identity:PodTokenAudience</c>).
    /// </summary>
    [Required]
    public string PodTokenAudience { get; set; } = SidecarsNames.PodTokenAudience;

    /// <summary>Port of the lightpeer's gRPC endpoint (container port named <c>klight-port</c>).</summary>
    [Range(1, 65535)]
    public int LightpeerPort { get; set; } = SidecarsNames.LightpeerDefaultPort;

    /// <summary>Inject the sidecars as native sidecars (init containers with restartPolicy Always, Kubernetes ≥ 1.28).</summary>
    public bool NativeSidecars { get; set; }

    /// <summary>
    /// In legacy mode, make the sidecars of Job pods exit once the app containers have finished, and hold app
    /// containers until the agent is ready (postStart hook).
    /// </summary>
    public bool LegacyJobSupport { get; set; } = true;

    /// <summary>
    /// Mount path of the shared token volume in the first app container (and, read-only, in the pod-agent) of pods
    /// with the copy-token annotation. Apps write token <c>key</c> to <c>&lt;TokenDirectory&gt;/key</c>. Mounting over
    /// <c>/tmp</c> (where older manifests write) hides the image's /tmp and caps it at <see cref="TokenVolumeSizeLimit"/>.
    /// </summary>
    [Required]
    public string TokenDirectory { get; set; } = SidecarsNames.TokenDirectory;

    /// <summary>sizeLimit of the token volume (memory-backed emptyDir).</summary>
    [Required]
    public string TokenVolumeSizeLimit { get; set; } = "1Mi";

    /// <summary>Namespaces never mutated; kube-system and kube-public are always excluded, the host adds its own.</summary>
    public string[] ExcludedNamespaces { get; set; } = ["kube-system", "kube-public"];

    /// <summary>Users whose requests carry someone else's identity: their pods take the owner from the template stamp.</summary>
    public string[] TrustedControllers { get; set; } =
    [
        "system:serviceaccount:kube-system:replicaset-controller",
        "system:serviceaccount:kube-system:deployment-controller",
        "system:serviceaccount:kube-system:job-controller",
        "system:serviceaccount:kube-system:cronjob-controller",
        "system:serviceaccount:kube-system:statefulset-controller",
        "system:serviceaccount:kube-system:daemon-set-controller",
        "system:serviceaccount:kube-system:replication-controller",
    ];

    /// <summary>
    /// Users that create pods on behalf of a person named in the pod's <see cref="SidecarsAnnotations.User"/>
    /// annotation (the cluster agent's user-pods API); from anyone else that annotation is not trusted.
    /// </summary>
    public string[] TrustedDelegates { get; set; } = ["system:serviceaccount:sidecars-system:sidecars-cluster-agent"];

    /// <summary>Resources of the pod-agent container.</summary>
    public SidecarResources PodAgent { get; set; } = new();

    /// <summary>Resources of the lightpeer container.</summary>
    public SidecarResources Lightpeer { get; set; } = new();

    /// <summary>Probe timings of both sidecars.</summary>
#pragma warning disable SYSLIB1212 // Checked by InjectionOptionsValidator, whose failures name the key (Sidecars:Injection:Probes).
    public ProbeOptions Probes { get; set; } = new();
#pragma warning restore SYSLIB1212

    /// <summary>securityContext of both sidecars.</summary>
    public SidecarSecurityOptions SecurityContext { get; set; } = new();
}

/// <summary>The attribute checks of <see cref="InjectionOptions"/>, generated at build time (no reflection).</summary>
[OptionsValidator]
public sealed partial class InjectionOptionsAttributesValidator : IValidateOptions<InjectionOptions>;
