using Microsoft.Extensions.Configuration;
using Sidecars.Webhook.Configuration;

namespace Sidecars.Webhook.Tests;

public sealed class DeprecatedKeysTests
{
    [Fact]
    public void Old_keys_feed_the_new_ones_unless_those_are_set_and_are_named_in_one_warning()
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Webhook:Port"] = "9443",
            ["Webhook:Rotation:DnsNames:0"] = "old.example",
            ["Sidecars:Webhook:Rotation:DnsNames:0"] = "new.example",
            ["Injection:Registry"] = "registry.old",
            ["Kubernetes:Kubeconfig"] = "/etc/kubeconfig",
        });

        var used = DeprecatedKeys.Apply(configuration, configuration, DeprecatedKeys.Webhook);

        Assert.Equal("9443", configuration["Sidecars:Webhook:Port"]);
        Assert.Equal("new.example", configuration["Sidecars:Webhook:Rotation:DnsNames:0"]);
        Assert.Equal("registry.old", configuration["Sidecars:Injection:Registry"]);
        Assert.Equal("/etc/kubeconfig", configuration["Sidecars:Kubernetes:KubeconfigPath"]);
        Assert.Equal(["Webhook", "Injection", "Kubernetes:Kubeconfig"], used);
        Assert.Equal(
            "Deprecated configuration keys in use, rename them: Webhook → Sidecars:Webhook, Injection → Sidecars:Injection, Kubernetes:Kubeconfig → Sidecars:Kubernetes:KubeconfigPath",
            DeprecatedKeys.Warning(used, DeprecatedKeys.Webhook));
    }

    [Fact]
    public void Nothing_is_added_when_only_new_keys_are_used()
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Sidecars:Webhook:Port"] = "8443" });
        var sources = configuration.Sources.Count;

        Assert.Empty(DeprecatedKeys.Apply(configuration, configuration, DeprecatedKeys.Webhook));
        Assert.Equal(sources, configuration.Sources.Count);
    }
}
