namespace Sidecars.Conventions.Tests;

/// <summary>What a tool that creates pods does to make sure they are injected, and when it refuses.</summary>
public sealed class PodOptInTests
{
    [Fact]
    public void A_pod_without_a_choice_is_opted_in()
    {
        var annotations = new Dictionary<string, string> { [SidecarsAnnotations.Blessing] = "app" };
        Assert.Null(PodOptIn.Apply(annotations, null));
        Assert.Equal("true", annotations[SidecarsAnnotations.Inject]);
    }

    [Fact]
    public void A_value_the_webhook_ignores_is_replaced_by_true()
    {
        var annotations = new Dictionary<string, string> { [SidecarsAnnotations.Inject] = "yes" };
        Assert.Null(PodOptIn.Apply(annotations, null));
        Assert.Equal("true", annotations[SidecarsAnnotations.Inject]);
    }

    [Fact]
    public void Opting_out_while_asking_for_a_blessing_and_a_network_is_refused_naming_both()
    {
        var annotations = new Dictionary<string, string> { [SidecarsAnnotations.Inject] = "False", [SidecarsAnnotations.Blessing] = "app" };
        var labels = new Dictionary<string, string> { [SidecarsLabels.NetworkId] = "net" };
        var reason = PodOptIn.Apply(annotations, labels);
        Assert.NotNull(reason);
        Assert.Contains($"annotation {SidecarsAnnotations.Blessing}", reason);
        Assert.Contains($"label {SidecarsLabels.NetworkId}", reason);
        Assert.Equal("False", annotations[SidecarsAnnotations.Inject]);
    }

    [Fact]
    public void Opting_out_with_nothing_that_needs_injection_is_respected()
    {
        var annotations = new Dictionary<string, string> { [SidecarsAnnotations.Inject] = "false" };
        Assert.Null(PodOptIn.Apply(annotations, new Dictionary<string, string> { ["app"] = "x" }));
        Assert.Equal("false", annotations[SidecarsAnnotations.Inject]);
    }

    [Theory]
    [InlineData(SidecarsLabels.NamespaceInjectionDisabled, true)]
    [InlineData(SidecarsLabels.NamespaceInjectionEnabled, false)]
    [InlineData("other", false)]
    public void Only_a_disabled_namespace_refuses_pods_that_opt_in(string value, bool refused)
    {
        var reason = PodOptIn.NamespaceRefusal("team", new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = value });
        Assert.Equal(refused, reason is not null);
        Assert.Null(PodOptIn.NamespaceRefusal("team", null));
    }
}
