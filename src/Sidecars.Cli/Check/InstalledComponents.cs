using Sidecars.Conventions;
using Sidecars.Identity.Service;
using Sidecars.Kubernetes.Leadership;

namespace Sidecars.Cli.Check;

/// <summary>A verb a component's service account must be allowed, and why it uses it.</summary>
/// <param name="InInstallNamespace">True for a namespaced grant in the install namespace, false for a cluster-wide one.</param>
/// <param name="Namespace">A namespaced grant in this namespace (the user-pods and clusters namespaces deploy/ makes).</param>
internal sealed record Permission(
    string ServiceAccount, string Group, string Resource, string Verb, bool InInstallNamespace, string Why,
    string? Subresource = null, string? Name = null, string? Namespace = null)
{
    /// <summary>The namespace the grant is checked in; null for a cluster-wide one.</summary>
    public string? NamespaceIn(string installNamespace) => Namespace ?? (InInstallNamespace ? installNamespace : null);

    public string Describe(string installNamespace) =>
        $"{Verb} {(Group.Length == 0 ? string.Empty : Group + "/")}{Resource}{(Subresource is null ? string.Empty : "/" + Subresource)}" +
        $"{(Name is null ? string.Empty : " " + Name)}{(NamespaceIn(installNamespace) is { } ns ? $" in {ns}" : string.Empty)}";
}

/// <summary>
/// The objects <c>deploy/</c> installs that <c>sidecarsctl check</c> looks for, and every verb the components' service
/// accounts use (what <c>deploy/base/*-rbac.yaml</c> grants them): one list, checked by SubjectAccessReview.
/// </summary>
internal static class InstalledComponents
{
    public const string DefaultNamespace = "sidecars-system";
    public const string WebhookConfiguration = "sidecars-webhook";
    public const string WebhookServiceAccount = "sidecars-webhook";
    public const string ClusterAgent = "sidecars-cluster-agent";
    public const string ClusterAgentServiceAccount = "sidecars-cluster-agent";
    public const string NodeProfiles = "sidecars-node-profiles";

    /// <summary>Leases in the install namespace whose names start with this are leader elections of the components.</summary>
    public const string LeasePrefix = "sidecars-";

    public static IReadOnlyList<Permission> Permissions(string webhookConfiguration, string tlsSecret, string webhookLease) =>
    [
        .. Verbs(WebhookServiceAccount, "", "namespaces", false, "namespace labels decide injection", "get", "list", "watch"),
        .. Verbs(WebhookServiceAccount, "", "pods", false, "the repair loop finds pods admitted without the webhook", "get", "list", "watch"),
        new(WebhookServiceAccount, "", "events", "create", false, "the repair loop reports what it found"),
        new(WebhookServiceAccount, "", "pods", "create", false, "the repair loop evicts pods admitted without the webhook", Subresource: "eviction"),
        .. Named(WebhookServiceAccount, "admissionregistration.k8s.io", "mutatingwebhookconfigurations", false,
            "the rotator keeps the caBundle current", webhookConfiguration, "get", "update"),
        new(WebhookServiceAccount, "", "secrets", "create", true, "the rotator stores its CA and serving pair"),
        .. Named(WebhookServiceAccount, "", "secrets", true, "the rotator renews its CA and serving pair", tlsSecret, "get", "update"),
        new(WebhookServiceAccount, "coordination.k8s.io", "leases", "create", true, "one replica rotates and repairs"),
        .. Named(WebhookServiceAccount, "coordination.k8s.io", "leases", true, "one replica rotates and repairs", webhookLease, "get", "update"),

        .. Verbs(ClusterAgentServiceAccount, "", "pods", false, "the network controller joins lightpeer pods; SeekBlessings reads the caller's pod", "get", "list", "watch"),
        new(ClusterAgentServiceAccount, "authentication.k8s.io", "tokenreviews", "create", false, "admin callers and pod tokens (SeekBlessings) by TokenReview"),
        .. Verbs(ClusterAgentServiceAccount, "", "persistentvolumes", false, "users' NFS storage", "get", "list", "create", "delete"),
        .. Verbs(ClusterAgentServiceAccount, "", "secrets", true, "the identity store; the serving TLS Secret is created once", "get", "create", "delete"),
        .. Named(ClusterAgentServiceAccount, "", "secrets", true, "the serving TLS Secret is renewed", SidecarsNames.ClusterAgentTlsSecret, "update"),
        .. In(UserPodsNamespace, Verbs(ClusterAgentServiceAccount, "", "pods", false, "user pods (patched when Ready)", "get", "list", "watch", "create", "patch", "delete")),
        .. In(UserPodsNamespace, Verbs(ClusterAgentServiceAccount, "", "services", false, "user pods' Services", "list", "create", "delete")),
        .. In(UserPodsNamespace, Verbs(ClusterAgentServiceAccount, "", "persistentvolumeclaims", false, "users' NFS storage claims", "get", "list", "create", "delete")),
        .. In(UserPodsNamespace, Verbs(ClusterAgentServiceAccount, "networking.k8s.io", "ingresses", false, "user pods' Ingresses", "create", "delete")),
        .. In(UserPodsNamespace, Verbs(ClusterAgentServiceAccount, "", "secrets", false, "user pods' token Secrets (applied server-side)", "get", "create", "patch", "delete")),
        .. In(ClustersNamespace, Verbs(ClusterAgentServiceAccount, "apps", "deployments", false, "clusters are Deployments (applied server-side)", "get", "list", "watch", "create", "patch", "delete")),
        .. Verbs(ClusterAgentServiceAccount, "", "pods", false, "the network controller records membership on the pods it joins", "patch"),
        .. Verbs(ClusterAgentServiceAccount, "", "namespaces", false, "opted-in namespaces get the CA bundle", "list", "watch"),
        new(ClusterAgentServiceAccount, "", "configmaps", "create", false, "the CA bundle in opted-in namespaces; the shared SeekBlessings failure budget"),
        .. Named(ClusterAgentServiceAccount, "", "configmaps", false, "the CA bundle in opted-in namespaces", SidecarsNames.TrustBundleConfigMap,
            "get", "list", "watch", "patch", "delete"),
        .. Named(ClusterAgentServiceAccount, "", "secrets", true, "the CA bundle follows the serving TLS Secret", SidecarsNames.ClusterAgentTlsSecret, "list", "watch"),
        .. Named(ClusterAgentServiceAccount, "", "configmaps", true, "replicas share the SeekBlessings failure budget", KubernetesSeekFailureLimiter.ConfigMapName, "get", "update"),
        new(ClusterAgentServiceAccount, "coordination.k8s.io", "leases", "create", true, "one replica runs the controllers"),
        .. Named(ClusterAgentServiceAccount, "coordination.k8s.io", "leases", true, "one replica runs the controllers",
            LeadershipServiceCollectionExtensions.LeaseName(ElectedComponents.ClusterAgent), "get", "update"),
    ];

    /// <summary>Where deploy/ puts the user-pods API's pods and the clusters API's Deployments.</summary>
    public const string UserPodsNamespace = "sidecars-user-pods";
    public const string ClustersNamespace = "sidecars-clusters";

    private static IEnumerable<Permission> In(string @namespace, IEnumerable<Permission> permissions) =>
        permissions.Select(p => p with { Namespace = @namespace });

    private static IEnumerable<Permission> Verbs(string account, string group, string resource, bool inNamespace, string why, params string[] verbs) =>
        verbs.Select(verb => new Permission(account, group, resource, verb, inNamespace, why));

    private static IEnumerable<Permission> Named(string account, string group, string resource, bool inNamespace, string why, string name, params string[] verbs) =>
        verbs.Select(verb => new Permission(account, group, resource, verb, inNamespace, why, Name: name));
}
