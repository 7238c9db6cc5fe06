using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Identity.Trust;
using Xunit;

namespace Sidecars.Identity.Tests.Trust;

public sealed class TrustBundlePlannerTests
{
    private const string Bundle = "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n";

    public static TheoryData<string, string?, string?, string?, bool, TrustBundleAction> Cases => new()
    {
        // namespace label, bundle, ConfigMap content (null = absent), managed-by, terminating → action (no pod-agent pods)
        { "enabled", Bundle, null, null, false, TrustBundleAction.Apply },
        { "enabled", Bundle, Bundle, SidecarsLabels.ManagedByValue, false, TrustBundleAction.None },
        { "enabled", Bundle, "forged", SidecarsLabels.ManagedByValue, false, TrustBundleAction.Apply },
        { "enabled", Bundle, Bundle, null, false, TrustBundleAction.Apply },
        { "enabled", null, Bundle, SidecarsLabels.ManagedByValue, false, TrustBundleAction.None },
        { "enabled", "", null, null, false, TrustBundleAction.None },
        { "enabled", Bundle, null, null, true, TrustBundleAction.None },
        { "disabled", Bundle, Bundle, SidecarsLabels.ManagedByValue, false, TrustBundleAction.Delete },
        { "", Bundle, Bundle, SidecarsLabels.ManagedByValue, false, TrustBundleAction.Delete },
        { "", Bundle, Bundle, null, false, TrustBundleAction.None },
        { "", Bundle, null, null, false, TrustBundleAction.None },
        { "disabled", null, Bundle, SidecarsLabels.ManagedByValue, false, TrustBundleAction.Delete },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decides_from_the_namespace_the_bundle_and_the_configmap(
        string label, string? bundle, string? present, string? managedBy, bool terminating, TrustBundleAction expected)
    {
        var ns = new V1Namespace
        {
            Metadata = new V1ObjectMeta
            {
                Name = "team",
                Labels = label.Length == 0 ? null : new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = label },
                DeletionTimestamp = terminating ? DateTime.UtcNow : null,
            },
        };
        var current = present is null ? null : new V1ConfigMap
        {
            Metadata = new V1ObjectMeta
            {
                Name = SidecarsNames.TrustBundleConfigMap,
                NamespaceProperty = "team",
                Labels = managedBy is null ? null : new Dictionary<string, string> { [SidecarsLabels.ManagedBy] = managedBy },
            },
            Data = new Dictionary<string, string> { [SidecarsNames.TrustBundleKey] = present },
        };

        Assert.Equal(expected, TrustBundlePlanner.Decide(ns, bundle, current, hasPodAgents: false));
    }

    [Theory]
    [InlineData("", null, TrustBundleAction.Apply)]
    [InlineData("", "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n", TrustBundleAction.None)]
    [InlineData("enabled", null, TrustBundleAction.Apply)]
    [InlineData("disabled", null, TrustBundleAction.None)]
    public void A_namespace_running_pod_agents_opted_in_by_annotation_gets_it_unless_labelled_disabled(string label, string? present, TrustBundleAction expected)
    {
        var ns = new V1Namespace
        {
            Metadata = new V1ObjectMeta
            {
                Name = "loose",
                Labels = label.Length == 0 ? null : new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = label },
            },
        };
        var current = present is null ? null : TrustBundlePlanner.Desired("loose", present);

        Assert.Equal(expected, TrustBundlePlanner.Decide(ns, Bundle, current, hasPodAgents: true));
    }

    [Fact]
    public void Nothing_is_done_for_a_namespace_that_does_not_exist() =>
        Assert.Equal(TrustBundleAction.None, TrustBundlePlanner.Decide(null, Bundle, null, hasPodAgents: true));

    [Fact]
    public void The_bundle_is_the_secret_ca_crt_and_the_desired_configmap_carries_it_labelled()
    {
        var secret = new V1Secret { Data = new Dictionary<string, byte[]> { [SidecarsNames.ClusterAgentCaKey] = System.Text.Encoding.UTF8.GetBytes(Bundle) } };
        Assert.Equal(Bundle, TrustBundlePlanner.Bundle(secret));
        Assert.Null(TrustBundlePlanner.Bundle(new V1Secret { Data = new Dictionary<string, byte[]> { ["tls.crt"] = [1] } }));
        Assert.Null(TrustBundlePlanner.Bundle(null));

        var desired = TrustBundlePlanner.Desired("team", Bundle);
        Assert.Equal(SidecarsNames.TrustBundleConfigMap, desired.Metadata.Name);
        Assert.Equal("team", desired.Metadata.NamespaceProperty);
        Assert.Equal(SidecarsLabels.ManagedByValue, desired.Metadata.Labels[SidecarsLabels.ManagedBy]);
        Assert.Equal(Bundle, desired.Data[SidecarsNames.TrustBundleKey]);
    }
}
