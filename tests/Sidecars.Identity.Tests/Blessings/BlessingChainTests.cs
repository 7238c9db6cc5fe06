using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sidecars.Identity.Blessings;
using Xunit;

namespace Sidecars.Identity.Tests;

public sealed class BlessingChainTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly BlessingAuthority _root = BlessingAuthority.CreateRoot("root", Now, TimeSpan.FromDays(30));
    private readonly ECDsa _replicaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    [Fact]
    public void Issued_chain_verifies_and_names_the_replica()
    {
        var issued = _root.Issue("root:my-service:web-0", _replicaKey, Now, TimeSpan.FromHours(1));

        var result = new BlessingVerifier([_root.Certificate]).Verify(issued.Chain, Now);

        Assert.True(result.IsValid, result.Error);
        Assert.Equal("root:my-service:web-0", result.Name);
        Assert.Equal(2, issued.Chain.Count);
        using var leaf = issued.LoadLeaf();
        Assert.Equal("root:my-service:web-0", BlessingCertificates.GetBlessingName(leaf));
        Assert.Contains("blessing:root:my-service:web-0", leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().Format(false), StringComparison.Ordinal);
        Assert.Equal(_replicaKey.ExportSubjectPublicKeyInfo(), leaf.PublicKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Expired_and_not_yet_valid_chains_are_rejected()
    {
        var issued = _root.Issue("root:app:web-0", _replicaKey, Now, TimeSpan.FromMinutes(10));
        var verifier = new BlessingVerifier([_root.Certificate]);

        Assert.True(verifier.Verify(issued.Chain, Now.AddMinutes(9)).IsValid);
        var expired = verifier.Verify(issued.Chain, Now.AddMinutes(11));
        Assert.False(expired.IsValid);
        Assert.Contains("NotTimeValid", expired.Error, StringComparison.Ordinal);
        Assert.False(verifier.Verify(issued.Chain, Now.AddMinutes(-5)).IsValid);
    }

    [Fact]
    public void Tampered_chain_is_rejected()
    {
        var issued = _root.Issue("root:app:web-0", _replicaKey, Now, TimeSpan.FromHours(1));
        var leaf = (byte[])issued.Chain[0].Clone();
        leaf[^5] ^= 0x01; // inside the signature
        var verifier = new BlessingVerifier([_root.Certificate]);

        Assert.False(verifier.Verify([leaf, issued.Chain[1]], Now).IsValid);

        // Renaming the blessing inside the signed part breaks the signature too.
        var renamed = (byte[])issued.Chain[0].Clone();
        var at = IndexOf(renamed, "web-0"u8);
        renamed[at + 4] = (byte)'1';
        Assert.False(verifier.Verify([renamed, issued.Chain[1]], Now).IsValid);
        Assert.False(verifier.Verify([[1, 2, 3]], Now).IsValid);
        Assert.False(verifier.Verify([], Now).IsValid);
    }

    [Fact]
    public void Chain_from_another_root_is_rejected_even_with_the_same_name()
    {
        using var forger = BlessingAuthority.CreateRoot("root", Now, TimeSpan.FromDays(1));
        var forged = forger.Issue("root:app:web-0", _replicaKey, Now, TimeSpan.FromHours(1));

        var result = new BlessingVerifier([_root.Certificate]).Verify(forged.Chain, Now);

        Assert.False(result.IsValid);
    }

    [Fact]
    public void Signature_by_another_key_does_not_verify_against_the_leaf()
    {
        var issued = _root.Issue("root:app:web-0", _replicaKey, Now, TimeSpan.FromHours(1));
        using var leaf = issued.LoadLeaf();
        using var leafKey = leaf.GetECDsaPublicKey()!;
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var data = "hello"u8.ToArray();

        Assert.True(leafKey.VerifyData(data, _replicaKey.SignData(data, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256));
        Assert.False(leafKey.VerifyData(data, other.SignData(data, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256));
    }

    [Fact]
    public void Authority_only_issues_extensions_of_its_name()
    {
        Assert.Throws<ArgumentException>(() => _root.Issue("root", _replicaKey, Now, TimeSpan.FromHours(1)));
        Assert.Throws<ArgumentException>(() => _root.Issue("rootx:app", _replicaKey, Now, TimeSpan.FromHours(1)));
        Assert.Throws<ArgumentException>(() => _root.Issue("other:app", _replicaKey, Now, TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Root_survives_export_and_load()
    {
        using var loaded = BlessingAuthority.Load(_root.Certificate.RawData, _root.ExportPrivateKey());
        var issued = loaded.Issue("root:app:web-0", _replicaKey, Now, TimeSpan.FromHours(1));

        Assert.Equal("root", loaded.Name);
        Assert.True(new BlessingVerifier([_root.Certificate]).Verify(issued.Chain, Now).IsValid);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.ThrowsAny<CryptographicException>(() => BlessingAuthority.Load(_root.Certificate.RawData, otherKey.ExportPkcs8PrivateKey()));
    }

    [Theory]
    [InlineData("root", true)]
    [InlineData("root:my-service:web-5d9c7-x2x8q", true)]
    [InlineData("", false)]
    [InlineData("root::app", false)]
    [InlineData(":root", false)]
    [InlineData("root:", false)]
    [InlineData("ro ot", false)]
    [InlineData("root/app", false)]
    [InlineData("röot", false)]
    public void Names_are_validated(string name, bool valid)
    {
        Assert.Equal(valid, BlessingName.IsValid(name, out var error));
        Assert.Equal(valid, error is null);
    }

    [Fact]
    public void Overlong_names_are_refused()
    {
        Assert.False(BlessingName.IsValid(new string('a', 64), out _));
        Assert.False(BlessingName.IsValid(string.Join(':', Enumerable.Repeat(new string('a', 60), 5)), out _));
    }

    [Fact]
    public void Only_p256_public_keys_are_accepted()
    {
        using var rsa = RSA.Create(2048);
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        Assert.True(BlessingCertificates.TryImportP256PublicKey(_replicaKey.ExportSubjectPublicKeyInfo(), out var ok, out _));
        ok!.Dispose();
        Assert.False(BlessingCertificates.TryImportP256PublicKey(rsa.ExportSubjectPublicKeyInfo(), out _, out _));
        Assert.False(BlessingCertificates.TryImportP256PublicKey(p384.ExportSubjectPublicKeyInfo(), out _, out var error));
        Assert.Contains("P-256", error, StringComparison.Ordinal);
        Assert.False(BlessingCertificates.TryImportP256PublicKey([], out _, out _));
        Assert.False(BlessingCertificates.TryImportP256PublicKey([0x30, 0x03, 0x01, 0x02, 0x03], out _, out _));
        Assert.False(BlessingCertificates.TryImportP256PublicKey([.. _replicaKey.ExportSubjectPublicKeyInfo(), 0], out _, out _));
    }

    public void Dispose()
    {
        _root.Dispose();
        _replicaKey.Dispose();
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);
}
