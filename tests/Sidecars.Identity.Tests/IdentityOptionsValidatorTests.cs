using Xunit;

namespace Sidecars.Identity.Tests;

public sealed class IdentityOptionsValidatorTests
{
    [Fact]
    public void Pod_token_attestation_is_the_default_and_without_a_cluster_the_start_fails_naming_the_key()
    {
        var defaults = new IdentityOptions();
        Assert.Equal(ReplicaAttestation.PodToken, defaults.ReplicaAttestation);
        Assert.Equal(TimeSpan.FromSeconds(60), defaults.BlessingLifetime);

        var withoutCluster = new IdentityOptionsValidator(kubernetesConfigured: false).Validate(null, defaults);
        Assert.True(withoutCluster.Failed);
        Assert.Contains("Sidecars:Identity:ReplicaAttestation is PodToken", withoutCluster.FailureMessage, StringComparison.Ordinal);

        Assert.True(new IdentityOptionsValidator(kubernetesConfigured: true).Validate(null, defaults).Succeeded);
        Assert.True(new IdentityOptionsValidator(kubernetesConfigured: false)
            .Validate(null, new IdentityOptions { ReplicaAttestation = ReplicaAttestation.SecretOnly }).Succeeded);
    }
}
