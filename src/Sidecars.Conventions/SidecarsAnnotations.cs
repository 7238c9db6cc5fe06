namespace Sidecars.Conventions;

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

    /// <summary>
    /// A lightpeer pod's membership of its peer network, recorded by the cluster agent that leads:
    /// <c>&lt;network&gt; &lt;address&gt; &lt;joined-at, RFC 3339&gt;</c>. Every replica lists members from it.
    /// </summary>
    public const string NetworkMember = "sidecars.io/network-member";

    /// <summary>On a cluster's Deployment: the time (RFC 3339) by which its first rollout must be Available.</summary>
    public const string CreateDeadline = "sidecars.io/create-deadline";

    /// <summary>On a cluster's Deployment beside <see cref="CreateDeadline"/>: the create's timeout in seconds.</summary>
    public const string CreateTimeout = "sidecars.io/create-timeout";

    /// <summary>On a cluster's Deployment beside <see cref="CreateDeadline"/>: <c>delete</c> or <c>leave</c> it when the deadline passes.</summary>
    public const string OnTimeout = "sidecars.io/on-timeout";
}
