using System.Security.Cryptography.X509Certificates;
using System.Text;
using Sidecars.Certificates.Issuing;
using Sidecars.Conventions;

namespace Sidecars.Certificates.Tests.Issuing;

public sealed class TlsSecretLayoutTests
{
    private static readonly ServingCertificatePolicy Policy = new()
    {
        AuthorityName = "test-ca",
        DnsNames = ["sidecars-cluster-agent.sidecars-system.svc"],
    };

    [Fact]
    public void The_cluster_agents_ca_crt_holds_every_trusted_CA_during_a_rollover_and_the_serving_pair_sits_under_tls_keys()
    {
        var start = DateTimeOffset.UtcNow;
        var first = RotationPlanner.Plan(TlsMaterial.Empty, start, Policy);
        // Past the CA's renewal point: a new CA, the old one still valid and still trusted.
        var rolled = RotationPlanner.Plan(first, start + Policy.AuthorityLifetime - Policy.AuthorityRenewBefore + TimeSpan.FromHours(1), Policy);

        var data = rolled.ToData(TlsSecretLayout.ClusterAgent);

        var trusted = new X509Certificate2Collection();
        trusted.ImportFromPem(Encoding.UTF8.GetString(data[SidecarsNames.ClusterAgentCaKey]));
        using var oldAuthority = first.Authority!.Load();
        using var newAuthority = rolled.Authority!.Load();
        Assert.Equal(
            new[] { oldAuthority.Thumbprint, newAuthority.Thumbprint }.Order(),
            trusted.Select(c => c.Thumbprint).Order());
        Assert.Equal(rolled.Serving!.CertificatePem, Encoding.UTF8.GetString(data[SidecarsNames.ClusterAgentTlsCertificateKey]));
        Assert.Equal(rolled.Serving.KeyPem, Encoding.UTF8.GetString(data[SidecarsNames.ClusterAgentTlsKeyKey]));
        Assert.Equal(rolled, TlsMaterial.FromData(data, TlsSecretLayout.ClusterAgent));
    }

    [Fact]
    public void The_webhooks_layout_keeps_the_current_CA_under_ca_crt_and_the_bundle_apart()
    {
        var material = RotationPlanner.Plan(TlsMaterial.Empty, DateTimeOffset.UtcNow, Policy);

        var data = material.ToData(TlsSecretLayout.Webhook);

        Assert.Equal(material.Authority!.CertificatePem, Encoding.UTF8.GetString(data["ca.crt"]));
        Assert.Equal(material.Bundle, Encoding.UTF8.GetString(data["ca-bundle.crt"]));
        Assert.Equal(material, TlsMaterial.FromData(data, TlsSecretLayout.Webhook));
    }
}
