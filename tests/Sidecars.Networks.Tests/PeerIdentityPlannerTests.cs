using System.Security.Cryptography.X509Certificates;
using System.Text;
using Sidecars.Certificates.Issuing;
using Sidecars.Conventions;
using Sidecars.Networks.Identity;

namespace Sidecars.Networks.Tests;

/// <summary>What a namespace's lightpeer identity Secret holds, as the network CA and the clock move on.</summary>
public sealed class PeerIdentityPlannerTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ServingCertificatePolicy Policy = NetworkIdentityController.Policy;

    [Fact]
    public void A_new_Secret_holds_the_bundle_and_a_peer_certificate_naming_the_namespace_from_the_network_CA()
    {
        var network = RotationPlanner.Plan(TlsMaterial.Empty, Now, Policy);

        var plan = PeerIdentityPlanner.Plan(null, network, "team-a", Now, Policy);

        Assert.NotNull(plan.Data);
        Assert.Equal(network.Bundle, Text(plan.Data, SidecarsNames.LightpeerCaKey));
        using var certificate = X509Certificate2.CreateFromPem(Text(plan.Data, SidecarsNames.LightpeerCertificateKey), Text(plan.Data, SidecarsNames.LightpeerKeyKey));
        Assert.True(certificate.MatchesHostname("team-a.lightpeer.sidecars.internal", allowWildcards: false, allowCommonName: false));
        Assert.False(certificate.MatchesHostname(SidecarsNames.NetworkControllerName, allowWildcards: false, allowCommonName: false));
        Assert.True(CertificateIssuer.AllowsClientAuthentication(new PemPair(Text(plan.Data, SidecarsNames.LightpeerCertificateKey), "")));
        Assert.True(RotationPlanner.IssuedBy(new PemPair(Text(plan.Data, SidecarsNames.LightpeerCertificateKey), ""), network.Authority!.Load()));
        Assert.Equal(certificate.NotAfter.ToUniversalTime() - Policy.ServingRenewBefore, plan.RenewAt.UtcDateTime);
    }

    [Fact]
    public void A_current_Secret_is_left_alone_until_its_certificate_is_due()
    {
        var network = RotationPlanner.Plan(TlsMaterial.Empty, Now, Policy);
        var stored = PeerIdentityPlanner.Plan(null, network, "team-a", Now, Policy).Data;

        Assert.Null(PeerIdentityPlanner.Plan(stored, network, "team-a", Now.AddHours(1), Policy).Data);
        var due = PeerIdentityPlanner.Plan(stored, network, "team-a", Now.AddHours(17), Policy).Data;
        Assert.NotNull(due);
        Assert.NotEqual(Text(stored!, SidecarsNames.LightpeerCertificateKey), Text(due, SidecarsNames.LightpeerCertificateKey));
    }

    [Fact]
    public void Another_namespace_s_certificate_is_replaced()
    {
        var network = RotationPlanner.Plan(TlsMaterial.Empty, Now, Policy);
        var stored = PeerIdentityPlanner.Plan(null, network, "team-a", Now, Policy).Data;

        var plan = PeerIdentityPlanner.Plan(stored, network, "team-b", Now, Policy);

        Assert.NotNull(plan.Data);
        using var certificate = X509Certificate2.CreateFromPem(Text(plan.Data, SidecarsNames.LightpeerCertificateKey));
        Assert.True(certificate.MatchesHostname("team-b.lightpeer.sidecars.internal", allowWildcards: false, allowCommonName: false));
    }

    [Fact]
    public void A_new_CA_reaches_the_bundle_at_once_but_issues_certificates_only_when_the_old_ones_are_due()
    {
        var network = RotationPlanner.Plan(TlsMaterial.Empty, Now, Policy);
        var stored = PeerIdentityPlanner.Plan(null, network, "team-a", Now, Policy).Data!;

        // Two hours before the CA is due, the controller's and the namespace's certificates are renewed by the same CA.
        var later = Now.AddDays(5).AddHours(1);
        var before = RotationPlanner.Plan(network, later.AddHours(-2), Policy);
        Assert.Equal(network.Authority, before.Authority);
        stored = PeerIdentityPlanner.Plan(stored, before, "team-a", later.AddHours(-2), Policy).Data!;

        // Then the CA has less than its renewal margin left: a new one joins the bundle; the controller keeps its certificate.
        var rotated = RotationPlanner.Plan(before, later, Policy);
        Assert.NotEqual(before.Authority, rotated.Authority);
        Assert.Equal(before.Serving, rotated.Serving);

        var plan = PeerIdentityPlanner.Plan(stored, rotated, "team-a", later, Policy);

        Assert.NotNull(plan.Data);
        Assert.Equal(rotated.Bundle, Text(plan.Data, SidecarsNames.LightpeerCaKey));
        Assert.Equal(Text(stored, SidecarsNames.LightpeerCertificateKey), Text(plan.Data, SidecarsNames.LightpeerCertificateKey));
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(Text(plan.Data, SidecarsNames.LightpeerCaKey));
        Assert.Equal(2, roots.Count);
    }

    private static string Text(IDictionary<string, byte[]> data, string key) => Encoding.UTF8.GetString(data[key]);
}
