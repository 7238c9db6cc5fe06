using k8s;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Kubernetes;
using Sidecars.LocalCluster;
using Sidecars.Mutation;
using Sidecars.Webhook;
using Sidecars.Webhook.Embedded;

namespace Sidecars.Cli.Demo;

/// <summary>
/// The quick-start job: a local control plane, the webhook registered with it by URL, a sample workload applied as a
/// user, and a report of what the webhook changed in each stored pod.
/// </summary>
internal sealed class DemoRunner(TextWriter output)
{
    private const string Namespace = "demo";
    private const string User = "alice";

    public async Task<int> RunAsync(bool keep, CancellationToken cancellationToken)
    {
        output.WriteLine("Starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and a simulated kubelet on 127.0.0.1 ...");
        await using var controlPlane = await LocalControlPlane.StartAsync(new LocalControlPlaneOptions(), cancellationToken);
        using var client = controlPlane.CreateClient();
        output.WriteLine($"  apiserver {controlPlane.ApiServerUrl}, kubeconfig {controlPlane.KubeconfigPath}");

        await using var webhook = await EmbeddedWebhook.StartAsync(
            controlPlane.KubeconfigPath,
            new Dictionary<string, string?>
            {
                ["Sidecars:Injection:Registry"] = "registry.demo.local/team",
                ["Sidecars:Injection:ImagePullSecret"] = "regcred",
                ["Sidecars:Injection:ClusterAgentAddress"] = "http://127.0.0.1:8081",
            },
            cancellationToken);
        await webhook.RegisterAsync(client, "sidecars-webhook", cancellationToken: cancellationToken);
        output.WriteLine($"Webhook serving {webhook.Address}mutate, registered as MutatingWebhookConfiguration sidecars-webhook");
        await PrepareNamespaceAsync(controlPlane, client, cancellationToken);
        var manifest = DemoManifest.Read();
        output.WriteLine($"kubectl apply (as {User}) into namespace {Namespace}: Deployment fortuned (2 replicas), Pod jupyter, Pod untouched (opted out)");
        await controlPlane.KubectlAsync(["apply", "-n", Namespace, "-f", "-"], user: User, stdin: manifest, ct: cancellationToken);

        await client.ForDeploymentAsync(
            Namespace, "fortuned", KubernetesConditions.IsDeploymentAvailable, "Deployment fortuned to be Available", TimeSpan.FromMinutes(2), cancellationToken);
        output.WriteLine("Deployment fortuned is Available (pods Running and Ready through the simulated kubelet)");
        output.WriteLine();

        var applied = DemoManifest.AppliedSpecs(manifest);
        var pods = await client.CoreV1.ListNamespacedPodAsync(Namespace, cancellationToken: cancellationToken);
        foreach (var pod in pods.Items.OrderBy(p => p.Metadata.Name, StringComparer.Ordinal))
        {
            var spec = pod.Metadata.OwnerReferences?.Any(o => o.Kind == "ReplicaSet") == true ? applied["fortuned"] : applied[pod.Metadata.Name];
            var changes = PodChangeReport.Describe(spec, pod);
            var owner = pod.Metadata.Labels is { } labels && labels.TryGetValue(SidecarsLabels.Owner, out var o) ? o : "(none)";
            output.WriteLine($"pod {Namespace}/{pod.Metadata.Name}  ip {pod.Status?.PodIP ?? "-"}  ready {KubernetesConditions.IsPodReady(pod)}  owner {owner}");
            foreach (var line in changes.DefaultIfEmpty("  (unchanged)"))
            {
                output.WriteLine("  " + line.TrimStart());
            }
        }

        if (keep)
        {
            output.WriteLine();
            output.WriteLine($"Running until Ctrl+C. Try: kubectl --kubeconfig {controlPlane.KubeconfigFor(User)} get pods -n {Namespace} --show-labels");
            await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        return 0;
    }

    private static async Task PrepareNamespaceAsync(LocalControlPlane controlPlane, IKubernetes client, CancellationToken cancellationToken)
    {
        await controlPlane.CreateNamespaceAsync(
            Namespace, new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled }, cancellationToken);
        foreach (var app in new[] { "fortuned", "jupyter" })
        {
            await client.CoreV1.CreateNamespacedSecretAsync(
                new V1Secret
                {
                    Metadata = new V1ObjectMeta { Name = SidecarsNames.DefaultSecretName(app) },
                    StringData = new Dictionary<string, string> { [SidecarsNames.SecretKey] = "demo-secret-" + app },
                },
                Namespace,
                cancellationToken: cancellationToken);
        }

        // The owner's data volume, pre-bound as an administrator would provision it.
        var quantity = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") };
        await client.CoreV1.CreatePersistentVolumeAsync(
            new V1PersistentVolume
            {
                Metadata = new V1ObjectMeta { Name = "sciencedata-" + User },
                Spec = new V1PersistentVolumeSpec
                {
                    Capacity = quantity,
                    AccessModes = ["ReadWriteMany"],
                    HostPath = new V1HostPathVolumeSource { Path = "/tmp/sciencedata-" + User },
                    ClaimRef = new V1ObjectReference { NamespaceProperty = Namespace, Name = "sciencedata-" + User },
                    StorageClassName = string.Empty,
                },
            },
            cancellationToken: cancellationToken);
        await client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(
            new V1PersistentVolumeClaim
            {
                Metadata = new V1ObjectMeta { Name = "sciencedata-" + User },
                Spec = new V1PersistentVolumeClaimSpec
                {
                    AccessModes = ["ReadWriteMany"],
                    Resources = new V1VolumeResourceRequirements { Requests = quantity },
                    StorageClassName = string.Empty,
                    VolumeName = "sciencedata-" + User,
                },
            },
            Namespace,
            cancellationToken: cancellationToken);
    }
}
