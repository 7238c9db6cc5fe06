using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Models;
using Sidecars.Conventions;

namespace Sidecars.RealNode.Tests;

/// <summary>Sidecars installed as a user installs it: <c>kubectl apply -k deploy/overlays/kubernetes-1.20</c>, and removed with <c>kubectl delete -k</c>.</summary>
internal static class SidecarsInstall
{
    public const string Namespace = "sidecars-system";
    public const string Webhook = "sidecars-webhook";
    public const string ClusterAgent = "sidecars-cluster-agent";
    public const string NodeProfiles = "sidecars-node-profiles";

    /// <summary>The overlay for the lane's Kubernetes version (1.20: no policy/v1).</summary>
    public static string Overlay => Path.Combine(Lane.RepositoryRoot, "deploy", "overlays", "kubernetes-1.20");

    /// <summary>Namespaces deploy/ creates.</summary>
    public static readonly string[] Namespaces = [Namespace, "sidecars-user-pods", "sidecars-clusters"];

    /// <summary>Applies deploy/ and waits until both Deployments are Available and the webhook's caBundle is in place.</summary>
    public static async Task ApplyAsync(LaneCluster cluster, TimeSpan timeout)
    {
        // A namespace left terminating by an earlier delete refuses new objects until it is gone.
        foreach (var name in Namespaces)
        {
            await Eventually.UntilAsync(
                async () => (await cluster.Client.CoreV1.ListNamespaceAsync(fieldSelector: "metadata.name=" + name)).Items.All(n => n.Status?.Phase != "Terminating"),
                $"namespace {name} not terminating",
                timeout);
        }

        await cluster.KubectlAsync(["apply", "-k", Overlay]);
        await WaitAvailableAsync(cluster, timeout);
    }

    public static async Task WaitAvailableAsync(LaneCluster cluster, TimeSpan timeout)
    {
        foreach (var name in new[] { Webhook, ClusterAgent })
        {
            var deployment = await cluster.Client.WaitForDeploymentAsync(
                Namespace, name,
                d => d.Status.ObservedGeneration >= d.Metadata.Generation
                    && d.IsAvailable() && d.Status.UpdatedReplicas == d.Spec.Replicas && d.Status.Replicas == d.Spec.Replicas,
                $"Deployment {Namespace}/{name} Available and rolled out", timeout);
            // Replaced replicas are gone too, so that no call reaches one that is stopping.
            await cluster.Client.WaitForPodsAsync(
                Namespace, "app.kubernetes.io/name=" + name,
                pods => pods.Count == deployment.Spec.Replicas && pods.All(p => p.Metadata.DeletionTimestamp is null),
                $"only the current replicas of {Namespace}/{name}", timeout);
        }

        // A client outside the cluster reaches the cluster agent through its Service once kube-proxy has programmed the
        // Service for the ready replicas (until then a connection is refused).
        var clusterAgent = (await cluster.Client.CoreV1.ReadNamespacedServiceAsync(ClusterAgent, Namespace)).Spec.ClusterIP;
        await Eventually.UntilAsync(
            async () =>
            {
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(clusterAgent), SidecarsNames.ClusterAgentPort), bound.Token);
                    return true;
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    return false;
                }
            },
            $"Service {Namespace}/{ClusterAgent} ({clusterAgent}:{SidecarsNames.ClusterAgentPort}) accepting connections",
            timeout);

        // Sidecars' seccomp profile on every node before any injected pod asks for it.
        await Eventually.UntilAsync(
            async () =>
            {
                var profiles = await cluster.Client.AppsV1.ReadNamespacedDaemonSetAsync(NodeProfiles, Namespace);
                var status = profiles.Status;
                return status is not null && status.ObservedGeneration >= profiles.Metadata.Generation && status.DesiredNumberScheduled > 0
                    && status.NumberReady == status.DesiredNumberScheduled && status.UpdatedNumberScheduled == status.DesiredNumberScheduled;
            },
            $"DaemonSet {Namespace}/{NodeProfiles} ready on every node",
            timeout);

        // The elected webhook replica issues its serving certificate and writes its CA into the configuration it serves.
        await Eventually.UntilAsync(
            async () =>
            {
                var configuration = await cluster.Client.AdmissionregistrationV1.ReadMutatingWebhookConfigurationAsync(Webhook);
                return configuration.Webhooks.All(w => w.ClientConfig.CaBundle is { Length: > 0 });
            },
            "the webhook's caBundle in its MutatingWebhookConfiguration",
            timeout);
    }

    /// <summary>The CAs the cluster agent's clients trust (ca.crt of its TLS Secret).</summary>
    public static async Task<string> ClusterAgentCaAsync(LaneCluster cluster)
    {
        var secret = await cluster.Client.CoreV1.ReadNamespacedSecretAsync(SidecarsNames.ClusterAgentTlsSecret, Namespace);
        return System.Text.Encoding.UTF8.GetString(secret.Data[SidecarsNames.ClusterAgentCaKey]);
    }

    /// <summary>The Ready pods of one of the Deployments.</summary>
    public static async Task<IReadOnlyList<V1Pod>> PodsOfAsync(LaneCluster cluster, string deployment) =>
        [.. (await cluster.Client.CoreV1.ListNamespacedPodAsync(Namespace, labelSelector: "app.kubernetes.io/name=" + deployment)).Items
            .Where(p => p.Metadata.DeletionTimestamp is null)];
}
