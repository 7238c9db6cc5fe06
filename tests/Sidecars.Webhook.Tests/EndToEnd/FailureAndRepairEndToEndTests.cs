using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Sidecars.Conventions;
using Sidecars.Kubernetes.Leadership;
using Sidecars.Mutation;
using Sidecars.Testing;
using Sidecars.Webhook.Repair;

namespace Sidecars.Webhook.Tests.EndToEnd;

/// <summary>With the webhook down and failurePolicy Ignore pods are still admitted; the repair loop finds them afterwards.</summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class FailureAndRepairEndToEndTests(ControlPlaneFixture fixture)
{
    [Fact]
    public async Task Pods_admitted_while_the_webhook_is_down_are_found_and_reported()
    {
        using var certificates = new TestCertificates();
        var ns = await fixture.NewNamespaceAsync("down", new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled });
        var own = await fixture.NewNamespaceAsync("sidecars-system");
        var name = "sidecars-" + own;

        // Registered, but nothing listens: the apiserver cannot reach the webhook.
        var settings = ClusterWebhook.Settings(fixture, own);
        settings["Sidecars:Webhook:Repair:Enabled"] = "true";
        settings["Sidecars:Webhook:Repair:Interval"] = "01:00:00";
        Uri deadAddress;
        await using (var stopped = await WebhookServer.StartAsync(certificates, settings))
        {
            deadAddress = stopped.Address;
        }

        await WebhookRegistration.RegisterAsync(fixture.Client, name, deadAddress, certificates.Authority.CertificatePem, failurePolicy: "Ignore");
        try
        {
            await fixture.ControlPlane.KubectlAsync(["apply", "-n", ns, "-f", "-"], user: "alice", stdin: Manifests.DryRunPod.Replace("name: dry", "name: missed", StringComparison.Ordinal));
            var missed = await fixture.Client.CoreV1.ReadNamespacedPodAsync("missed", ns);
            Assert.Single(missed.Spec.Containers);
            Assert.Equal("LOCALREGISTRY/app:1", missed.Spec.Containers[0].Image);

            // Once elected, the repair loop checks every pod at once (the interval above is for later rechecks).
            await using var webhook = await WebhookServer.StartAsync(certificates, settings);
            var repair = webhook.Services.GetRequiredService<RepairLoop>();
            await Eventually.UntilAsync(() => repair.Findings.Any(f => f.Namespace == ns), "the repair loop reports the pod admitted while the webhook was down", TimeSpan.FromMinutes(1));

            var findings = repair.Findings;
            var finding = Assert.Single(findings, f => f.Namespace == ns);
            Assert.Equal("missed", finding.Name);
            Assert.Contains("pod-agent", finding.Missing);
            Assert.Contains("owner-label", finding.Missing);
            Assert.DoesNotContain(findings, f => f.Namespace == "kube-system");
            var events = await fixture.Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: "involvedObject.name=missed,reason=SidecarsMissing");
            Assert.Single(events.Items);
            Assert.Contains("pod-agent", events.Items[0].Message, StringComparison.Ordinal);

            // Another replica takes the Lease: this one's term ends, and with it its watch of every pod.
            Assert.True(repair.Watching);
            var leaseName = LeadershipServiceCollectionExtensions.LeaseName(ElectedComponents.Webhook);
            var lease = await fixture.Client.CoordinationV1.ReadNamespacedLeaseAsync(leaseName, own);
            lease.Spec.HolderIdentity = "another-replica";
            lease.Spec.LeaseDurationSeconds = 3600;
            lease.Spec.RenewTime = DateTime.UtcNow;
            await fixture.Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, leaseName, own);
            await Eventually.UntilAsync(() => !repair.Watching, "the replica that lost its Lease stops watching pods", TimeSpan.FromMinutes(1));
            Assert.False(webhook.Services.GetRequiredService<LeaseElector>().IsLeader);
        }
        finally
        {
            await WebhookRegistration.DeleteAsync(fixture.Client, name);
        }
    }

    [Fact]
    public async Task With_failure_policy_fail_an_opted_in_pod_is_refused_while_the_webhook_is_down()
    {
        using var certificates = new TestCertificates();
        var ns = await fixture.NewNamespaceAsync("closed", new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled });
        var own = await fixture.NewNamespaceAsync("sidecars-system");
        var name = "sidecars-" + own;
        Uri deadAddress;
        await using (var stopped = await WebhookServer.StartAsync(certificates, ClusterWebhook.Settings(fixture, own)))
        {
            deadAddress = stopped.Address;
        }

        await WebhookRegistration.RegisterAsync(fixture.Client, name, deadAddress, certificates.Authority.CertificatePem, failurePolicy: "Fail");
        try
        {
            var pod = new V1Pod
            {
                Metadata = new V1ObjectMeta { Name = "refused" },
                Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "busybox" }] },
            };

            var error = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => fixture.Client.CoreV1.CreateNamespacedPodAsync(pod, ns));

            Assert.Contains("failed calling webhook", error.Response.Content, StringComparison.Ordinal);
        }
        finally
        {
            await WebhookRegistration.DeleteAsync(fixture.Client, name);
        }
    }
}
