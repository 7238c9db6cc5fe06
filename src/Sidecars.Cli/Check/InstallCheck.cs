using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Kubernetes;
using Sidecars.Mutation;
using Sidecars.Kubernetes.Leadership;
using Sidecars.Webhook.Repair;
using Sidecars.Webhook.Tls;

namespace Sidecars.Cli.Check;

/// <summary>
/// <c>sidecarsctl check</c>: what a live cluster has of the install, one line per finding. Reads only, except for
/// SubjectAccessReviews (which change nothing).
/// </summary>
internal sealed class InstallCheck(IKubernetes client, string installNamespace, string webhookConfiguration, TimeProvider time)
{
    private const int NamesShown = 5;

    public async Task<IReadOnlyList<CheckLine>> RunAsync(CancellationToken cancellationToken)
    {
        var lines = new List<CheckLine>();
        try
        {
            var version = await client.Version.GetCodeAsync(cancellationToken);
            lines.Add(CheckLine.Ok("kubernetes api", $"reachable, version {version.GitVersion}"));
        }
        catch (Exception e) when (e is HttpRequestException or HttpOperationException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            lines.Add(CheckLine.Fail("kubernetes api", "not reachable: " + e.Message, "set KUBECONFIG or --kubeconfig to the cluster's kubeconfig"));
            return lines;
        }

        lines.AddRange(await WebhookAsync(cancellationToken));
        lines.AddRange(await ClusterAgentAsync(cancellationToken));
        lines.Add(await NodeProfilesAsync(cancellationToken));
        lines.AddRange(await LeasesAsync(cancellationToken));
        lines.AddRange(await RbacAsync(cancellationToken));
        var labels = await NamespacesAsync(lines, cancellationToken);
        if (labels is not null)
        {
            lines.Add(await PodsAsync(labels, cancellationToken));
        }

        return lines;
    }

    private async Task<IReadOnlyList<CheckLine>> WebhookAsync(CancellationToken cancellationToken)
    {
        const string subject = "webhook configuration";
        V1MutatingWebhookConfiguration configuration;
        try
        {
            configuration = await client.AdmissionregistrationV1.ReadMutatingWebhookConfigurationAsync(webhookConfiguration, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return [CheckLine.Fail(subject, $"MutatingWebhookConfiguration {webhookConfiguration} not found: no pod is injected",
                "install with kubectl apply -k deploy (or pass --webhook-configuration with the name it was registered under)")];
        }

        var hooks = configuration.Webhooks ?? [];
        if (hooks.Count == 0)
        {
            return [CheckLine.Fail(subject, $"{webhookConfiguration} has no webhooks", "re-apply deploy/base/webhook-configuration.yaml")];
        }

        var lines = new List<CheckLine>
        {
            CheckLine.Ok(subject, $"{webhookConfiguration}: {string.Join(", ", hooks.Select(h => $"{h.Name} ({h.FailurePolicy ?? "Fail"})"))}"),
        };
        var rotation = new RotationOptions();
        var probe = new WebhookProbe(client, rotation.SecretName, rotation.ServingRenewBefore, time);
        foreach (var group in hooks.GroupBy(h => Endpoint(h.ClientConfig) + "|" + Convert.ToBase64String(h.ClientConfig.CaBundle ?? [])))
        {
            var first = group.First();
            var where = Endpoint(first.ClientConfig);
            lines.AddRange(await probe.CheckAsync($"webhook {where}", first.ClientConfig, cancellationToken));
        }

        return lines;
    }

    private static string Endpoint(Admissionregistrationv1WebhookClientConfig config) =>
        config.Url is { Length: > 0 } url
            ? url
            : $"service {config.Service.NamespaceProperty}/{config.Service.Name}:{config.Service.Port ?? 443}";

    private async Task<IReadOnlyList<CheckLine>> ClusterAgentAsync(CancellationToken cancellationToken)
    {
        var subject = $"cluster agent {installNamespace}/{InstalledComponents.ClusterAgent}";
        V1Deployment deployment;
        try
        {
            deployment = await client.AppsV1.ReadNamespacedDeploymentAsync(InstalledComponents.ClusterAgent, installNamespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return [CheckLine.Warn(subject, "not installed: identities, clusters, networks and user pods are not served",
                "kubectl apply -k deploy installs it; the webhook injects without it")];
        }

        var wanted = deployment.Spec.Replicas ?? 1;
        var ready = deployment.Status?.ReadyReplicas ?? 0;
        return
        [
            KubernetesConditions.IsDeploymentAvailable(deployment) && ready > 0
                ? CheckLine.Ok(subject, $"serving: {ready}/{wanted} replicas ready")
                : CheckLine.Fail(subject, $"not serving: {ready}/{wanted} replicas ready",
                    $"kubectl -n {installNamespace} describe deployment {InstalledComponents.ClusterAgent}; kubectl -n {installNamespace} logs deployment/{InstalledComponents.ClusterAgent}"),
        ];
    }

    /// <summary>
    /// The DaemonSet that keeps Sidecars' seccomp profile on every node: a container naming the Localhost profile (the
    /// injected sidecars as deploy/ configures the webhook, the webhook itself) does not start on a node without it.
    /// </summary>
    private async Task<CheckLine> NodeProfilesAsync(CancellationToken cancellationToken)
    {
        var subject = $"node profiles {installNamespace}/{InstalledComponents.NodeProfiles}";
        V1DaemonSet profiles;
        try
        {
            profiles = await client.AppsV1.ReadNamespacedDaemonSetAsync(InstalledComponents.NodeProfiles, installNamespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return CheckLine.Warn(subject, $"not installed: a container naming the Localhost seccomp profile {SidecarsNames.SeccompProfile} does not start",
                "kubectl apply -k deploy installs it; without it set Sidecars:Injection:SecurityContext:Seccomp to RuntimeDefault");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            return CheckLine.Warn(subject, $"could not check: reading daemonsets in {installNamespace} is forbidden to you");
        }

        var (desired, ready) = (profiles.Status?.DesiredNumberScheduled ?? 0, profiles.Status?.NumberReady ?? 0);
        return desired > 0 && ready == desired
            ? CheckLine.Ok(subject, $"{SidecarsNames.SeccompProfile} kept on {ready}/{desired} nodes")
            : CheckLine.Fail(subject, $"{SidecarsNames.SeccompProfile} kept on {ready} of {desired} nodes: on the others a container naming it does not start",
                $"kubectl -n {installNamespace} describe daemonset {InstalledComponents.NodeProfiles}; kubectl -n {installNamespace} logs daemonset/{InstalledComponents.NodeProfiles}");
    }

    /// <summary>Every <c>sidecars-*</c> Lease in the install namespace: who leads, and whether the lease is current.</summary>
    private async Task<IReadOnlyList<CheckLine>> LeasesAsync(CancellationToken cancellationToken)
    {
        V1LeaseList leases;
        try
        {
            leases = await client.CoordinationV1.ListNamespacedLeaseAsync(installNamespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            return [CheckLine.Warn("leader leases", $"could not check: listing leases in {installNamespace} is forbidden to you")];
        }

        var now = time.GetUtcNow();
        var lines = new List<CheckLine>();
        foreach (var lease in leases.Items.Where(l => l.Metadata.Name.StartsWith(InstalledComponents.LeasePrefix, StringComparison.Ordinal)).OrderBy(l => l.Metadata.Name))
        {
            var subject = $"lease {installNamespace}/{lease.Metadata.Name}";
            var holder = lease.Spec?.HolderIdentity;
            var renewed = lease.Spec?.RenewTime ?? lease.Spec?.AcquireTime;
            var duration = TimeSpan.FromSeconds(lease.Spec?.LeaseDurationSeconds ?? 15);
            if (string.IsNullOrEmpty(holder) || renewed is null)
            {
                lines.Add(CheckLine.Fail(subject, "no replica leads (no holder)", "the replicas are not running or cannot update the Lease: read their logs"));
                continue;
            }

            var age = now - new DateTimeOffset(DateTime.SpecifyKind(renewed.Value, DateTimeKind.Utc));
            lines.Add(age <= duration
                ? CheckLine.Ok(subject, $"{holder} leads (renewed {WebhookProbe.Describe(age)} ago)")
                : CheckLine.Fail(subject, $"{holder} held it but has not renewed it for {WebhookProbe.Describe(age)} (lease {duration.TotalSeconds:0} s)",
                    "no replica leads: the leader died and no other took over; read the replicas' logs"));
        }

        if (lines.Count == 0)
        {
            lines.Add(CheckLine.Ok("leader leases", $"none in {installNamespace} (a single replica, or none elected yet; the webhook's is {LeadershipServiceCollectionExtensions.LeaseName(ElectedComponents.Webhook)})"));
        }

        return lines;
    }

    private async Task<IReadOnlyList<CheckLine>> RbacAsync(CancellationToken cancellationToken)
    {
        var rotation = new RotationOptions();
        var permissions = InstalledComponents.Permissions(webhookConfiguration, rotation.SecretName, LeadershipServiceCollectionExtensions.LeaseName(ElectedComponents.Webhook));
        var lines = new List<CheckLine>();
        foreach (var account in permissions.GroupBy(p => p.ServiceAccount))
        {
            var subject = $"rbac {installNamespace}/{account.Key}";
            var denied = new List<Permission>();
            foreach (var permission in account)
            {
                try
                {
                    if (!await AllowedAsync(permission, cancellationToken))
                    {
                        denied.Add(permission);
                    }
                }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
                {
                    lines.Add(CheckLine.Warn(subject, "could not check: creating SubjectAccessReviews is forbidden to you", "run check as a cluster administrator"));
                    return lines;
                }
            }

            var all = account.Count();
            lines.Add(denied.Count == 0
                ? CheckLine.Ok(subject, $"all {all} permissions granted")
                : CheckLine.Fail(subject, $"{denied.Count} of {all} permissions denied: {string.Join("; ", denied.Select(p => $"{p.Describe(installNamespace)} ({p.Why})"))}",
                    $"apply deploy/base/*-rbac.yaml into {installNamespace} (kubectl apply -k deploy)"));
        }

        return lines;
    }

    private async Task<bool> AllowedAsync(Permission permission, CancellationToken cancellationToken)
    {
        var review = await client.AuthorizationV1.CreateSubjectAccessReviewAsync(new V1SubjectAccessReview
        {
            Spec = new V1SubjectAccessReviewSpec
            {
                User = $"system:serviceaccount:{installNamespace}:{permission.ServiceAccount}",
                Groups = ["system:serviceaccounts", "system:serviceaccounts:" + installNamespace, "system:authenticated"],
                ResourceAttributes = new V1ResourceAttributes
                {
                    Group = permission.Group,
                    Resource = permission.Resource,
                    Subresource = permission.Subresource,
                    Verb = permission.Verb,
                    Name = permission.Name,
                    NamespaceProperty = permission.NamespaceIn(installNamespace),
                },
            },
        }, cancellationToken: cancellationToken);
        return review.Status?.Allowed == true;
    }

    private async Task<Dictionary<string, IReadOnlyDictionary<string, string>>?> NamespacesAsync(List<CheckLine> lines, CancellationToken cancellationToken)
    {
        V1NamespaceList namespaces;
        try
        {
            namespaces = await client.CoreV1.ListNamespaceAsync(cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            lines.Add(CheckLine.Warn("namespaces", "could not check: listing namespaces is forbidden to you"));
            return null;
        }

        var labels = namespaces.Items.ToDictionary(
            n => n.Metadata.Name,
            n => (IReadOnlyDictionary<string, string>)(n.Metadata.Labels ?? new Dictionary<string, string>()),
            StringComparer.Ordinal);
        var optedIn = labels.Where(kv => kv.Value.TryGetValue(SidecarsLabels.NamespaceInjection, out var v) && v == SidecarsLabels.NamespaceInjectionEnabled)
            .Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
        lines.Add(optedIn.Count == 0
            ? CheckLine.Warn("namespaces", $"none labelled {SidecarsLabels.NamespaceInjection}={SidecarsLabels.NamespaceInjectionEnabled}; pods opt in one by one with {SidecarsAnnotations.Inject}: \"true\"",
                $"kubectl label namespace <name> {SidecarsLabels.NamespaceInjection}={SidecarsLabels.NamespaceInjectionEnabled}")
            : CheckLine.Ok("namespaces", $"{optedIn.Count} opted in: {string.Join(", ", optedIn)}"));
        return labels;
    }

    /// <summary>Pods the webhook would still inject into: the repair loop's planner over every running pod.</summary>
    private async Task<CheckLine> PodsAsync(Dictionary<string, IReadOnlyDictionary<string, string>> namespaceLabels, CancellationToken cancellationToken)
    {
        const string subject = "pods";
        V1PodList pods;
        try
        {
            pods = await client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            return CheckLine.Warn(subject, "could not check: listing pods in all namespaces is forbidden to you");
        }

        var options = new Sidecars.Mutation.InjectionOptions();
        options.ExcludedNamespaces = [.. options.ExcludedNamespaces, installNamespace];
        var planner = new RepairPlanner(new MutationEngine(options));
        var findings = pods.Items
            .Select(p => planner.Inspect(p, namespaceLabels.GetValueOrDefault(p.Metadata.NamespaceProperty)))
            .OfType<RepairFinding>()
            .ToList();
        if (findings.Count == 0)
        {
            return CheckLine.Ok(subject, $"none lacks its sidecars ({pods.Items.Count} checked)");
        }

        var shown = string.Join(", ", findings.Take(NamesShown).Select(f => $"{f.Namespace}/{f.Name} (no {string.Join(", no ", f.Missing)})"));
        return CheckLine.Fail(subject, $"{findings.Count} should carry sidecars and do not: {shown}{(findings.Count > NamesShown ? ", …" : string.Empty)}",
            "they were created while the webhook was not called; delete them so their controllers recreate them injected (the webhook's repair loop evicts them when enabled)");
    }
}
