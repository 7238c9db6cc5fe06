using System.Security.Cryptography.X509Certificates;
using Sidecars.Certificates.Issuing;

namespace Sidecars.Certificates.Tests.Issuing;

public sealed class RotationPlannerTests
{
    private static readonly ServingCertificatePolicy Options = new()
    {
        ServingLifetime = TimeSpan.FromHours(24),
        ServingRenewBefore = TimeSpan.FromHours(8),
        AuthorityLifetime = TimeSpan.FromDays(7),
        AuthorityRenewBefore = TimeSpan.FromDays(2),
        DnsNames = ["sidecars-webhook.sidecars-system.svc"],
        IpAddresses = ["127.0.0.1"],
    };

    private static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void From_nothing_it_makes_a_ca_and_a_short_lived_serving_certificate_it_signed()
    {
        var material = RotationPlanner.Plan(TlsMaterial.Empty, Start, Options);

        using var serving = material.Serving!.Load();
        using var ca = material.Authority!.Load();
        Assert.True(serving.NotAfter.ToUniversalTime() - Start.UtcDateTime <= TimeSpan.FromHours(24));
        Assert.True(Verifies(serving, material.Bundle, Start));
        Assert.Single(Bundle(material.Bundle));
        Assert.Contains("127.0.0.1", serving.GetNameInfo(X509NameType.DnsName, false) + string.Join(",", SubjectAlternativeNames(serving)), StringComparison.Ordinal);
    }

    [Fact]
    public void Nothing_changes_while_everything_is_fresh()
    {
        var first = RotationPlanner.Plan(TlsMaterial.Empty, Start, Options);

        var second = RotationPlanner.Plan(first, Start.AddHours(1), Options);

        Assert.Equal(first.Serving, second.Serving);
        Assert.Equal(first.Authority, second.Authority);
        Assert.Equal(first.Bundle, second.Bundle);
    }

    [Fact]
    public void A_serving_certificate_near_expiry_is_replaced_by_the_same_ca()
    {
        var first = RotationPlanner.Plan(TlsMaterial.Empty, Start, Options);

        var later = Start.AddHours(17);
        var second = RotationPlanner.Plan(first, later, Options);

        Assert.NotEqual(first.Serving, second.Serving);
        Assert.Equal(first.Authority, second.Authority);
        using var serving = second.Serving!.Load();
        Assert.True(Verifies(serving, second.Bundle, later));
    }

    [Fact]
    public void Ca_rollover_keeps_the_old_ca_in_the_bundle_until_it_expires()
    {
        var first = RotationPlanner.Plan(TlsMaterial.Empty, Start, Options);
        var rollover = Start.AddDays(5.5);

        var second = RotationPlanner.Plan(first, rollover, Options);

        Assert.NotEqual(first.Authority, second.Authority);
        Assert.Equal(2, Bundle(second.Bundle).Count);
        using var oldServing = first.Serving!.Load();
        using var newServing = second.Serving!.Load();
        // During rollover a client holding the new bundle trusts both the old serving certificate and the new one.
        Assert.True(Verifies(newServing, second.Bundle, rollover));
        Assert.True(Verifies(oldServing, second.Bundle, Start.AddHours(1)));

        var afterOldExpiry = Start.AddDays(7.5);
        var third = RotationPlanner.Plan(second, afterOldExpiry, Options);
        Assert.Single(Bundle(third.Bundle));
    }

    private static List<X509Certificate2> Bundle(string pem)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPem(pem);
        return [.. collection];
    }

    private static IEnumerable<string> SubjectAlternativeNames(X509Certificate2 certificate)
        => certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateIPAddresses().Select(a => a.ToString()));

    private static bool Verifies(X509Certificate2 leaf, string bundle, DateTimeOffset at)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Bundle(bundle).ToArray());
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        return chain.Build(leaf);
    }
}
