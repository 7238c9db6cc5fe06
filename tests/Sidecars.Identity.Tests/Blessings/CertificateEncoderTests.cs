using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sidecars.Identity.Blessings;
using Xunit;

namespace Sidecars.Identity.Tests;

public sealed class CertificateEncoderTests : IDisposable
{
    private readonly ECDsa _issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _subjectKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    [Theory]
    [InlineData("2026-11-30T10:15:42.7654321Z", "2026-11-30T11:15:42.1234567Z")]
    [InlineData("2049-12-31T23:59:59.9990000Z", "2050-01-01T00:00:00.5000000Z")]
    [InlineData("1949-12-31T23:59:59Z", "2150-06-01T12:00:00Z")]
    public void Signs_the_bytes_CertificateRequest_would_sign(string notBeforeText, string notAfterText)
    {
        var notBefore = DateTimeOffset.Parse(notBeforeText, System.Globalization.CultureInfo.InvariantCulture);
        var notAfter = DateTimeOffset.Parse(notAfterText, System.Globalization.CultureInfo.InvariantCulture);
        var issuer = new X500DistinguishedName("O=sidecars, CN=root");
        var subject = new X500DistinguishedName("O=sidecars, CN=root:app:web-0");
        byte[] serial = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0, 0xB0];
        var request = new CertificateRequest(subject, _subjectKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var generator = X509SignatureGenerator.CreateForECDsa(_issuerKey);
        using var expected = request.Create(issuer, generator, notBefore, notAfter, serial);

        var encoded = CertificateEncoder.Encode(
            issuer, subject, serial, notBefore, notAfter, _subjectKey.ExportSubjectPublicKeyInfo(), [.. request.CertificateExtensions], generator);

        Assert.Equal(ToBeSigned(expected.RawData), ToBeSigned(encoded));
        using var loaded = X509CertificateLoader.LoadCertificate(encoded);
        Assert.Equal(expected.SerialNumber, loaded.SerialNumber);
        Assert.Equal(expected.NotBefore, loaded.NotBefore);
        Assert.Equal(expected.NotAfter, loaded.NotAfter);
        Assert.True(_issuerKey.VerifyData(ToBeSigned(encoded), Signature(encoded), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void A_signature_by_another_key_does_not_verify()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedName("CN=x");
        var now = DateTimeOffset.UtcNow;

        var encoded = CertificateEncoder.Encode(
            name, name, [1], now, now.AddHours(1), _subjectKey.ExportSubjectPublicKeyInfo(), [], X509SignatureGenerator.CreateForECDsa(other));

        Assert.False(_issuerKey.VerifyData(ToBeSigned(encoded), Signature(encoded), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        Assert.Throws<ArgumentException>(() => CertificateEncoder.Encode(
            name, name, [1], now, now.AddHours(-1), _subjectKey.ExportSubjectPublicKeyInfo(), [], X509SignatureGenerator.CreateForECDsa(other)));
    }

    public void Dispose()
    {
        _issuerKey.Dispose();
        _subjectKey.Dispose();
    }

    private static byte[] ToBeSigned(byte[] certificate) =>
        new AsnReader(certificate, AsnEncodingRules.DER).ReadSequence().ReadEncodedValue().ToArray();

    private static byte[] Signature(byte[] certificate)
    {
        var sequence = new AsnReader(certificate, AsnEncodingRules.DER).ReadSequence();
        sequence.ReadEncodedValue();
        sequence.ReadEncodedValue();
        return sequence.ReadBitString(out _);
    }
}
