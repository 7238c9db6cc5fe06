using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sidecars.Identity.Blessings;

/// <summary>
/// A root blessing and its key: issues leaf certificates (ECDSA P-256, SHA-256) carrying extensions of the
/// root's name. Leaves are signed by the root directly, so a chain is <c>[leaf, root]</c>.
/// </summary>
public sealed class BlessingAuthority : IDisposable
{
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);
    private static readonly X509Extension LeafBasicConstraints = new X509BasicConstraintsExtension(false, false, 0, true);
    private static readonly X509Extension LeafKeyUsage = new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true);
    private static readonly X509Extension LeafExtendedKeyUsage = new X509EnhancedKeyUsageExtension(
        [new Oid(BlessingCertificates.ServerAuthOid), new Oid(BlessingCertificates.ClientAuthOid)], false);

    private readonly ECDsa _key;
    private readonly X509SignatureGenerator _generator;
    private readonly X509Extension _authorityKeyIdentifier;
    private readonly byte[] _rootDer;

    private BlessingAuthority(string name, X509Certificate2 certificate, ECDsa key)
    {
        Name = name;
        Certificate = certificate;
        _key = key;
        _generator = X509SignatureGenerator.CreateForECDsa(key);
        _authorityKeyIdentifier = X509AuthorityKeyIdentifierExtension.CreateFromCertificate(certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false);
        _rootDer = certificate.RawData;
    }

    public string Name { get; }

    /// <summary>The self-signed root certificate (public part only).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Creates a new root for <paramref name="name"/> with a fresh key.</summary>
    public static BlessingAuthority CreateRoot(string name, DateTimeOffset now, TimeSpan validity)
    {
        if (!BlessingName.IsValid(name, out var error))
        {
            throw new ArgumentException(error, nameof(name));
        }

        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(SubjectFor(name), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(SubjectAltName(name));
        using var withKey = request.CreateSelfSigned(now - ClockSkew, now + validity);
        var publicOnly = X509CertificateLoader.LoadCertificate(withKey.RawData);
        return new BlessingAuthority(name, publicOnly, key);
    }

    /// <summary>Loads a root saved with <see cref="Certificate"/> and <see cref="ExportPrivateKey"/>.</summary>
    public static BlessingAuthority Load(byte[] certificateDer, byte[] privateKeyPkcs8)
    {
        var certificate = X509CertificateLoader.LoadCertificate(certificateDer);
        var name = BlessingCertificates.GetBlessingName(certificate)
            ?? throw new CryptographicException("the stored root certificate carries no blessing name");
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(privateKeyPkcs8, out _);
        using (var publicKey = certificate.GetECDsaPublicKey())
        {
            if (publicKey is null || !publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
            {
                key.Dispose();
                throw new CryptographicException("the stored root key does not match the stored root certificate");
            }
        }

        return new BlessingAuthority(name, certificate, key);
    }

    public byte[] ExportPrivateKey() => _key.ExportPkcs8PrivateKey();

    /// <summary>Issues <paramref name="name"/> (an extension of the root) for the holder of <paramref name="publicKey"/>.</summary>
    public IssuedBlessing Issue(string name, ECDsa publicKey, DateTimeOffset now, TimeSpan lifetime)
    {
        if (!BlessingName.IsExtensionOf(name, Name) || name.Length == Name.Length)
        {
            throw new ArgumentException($"'{name}' does not extend the root blessing '{Name}'", nameof(name));
        }

        var notBefore = now - ClockSkew;
        var notAfter = now + lifetime;
        if (notAfter > Certificate.NotAfter)
        {
            notAfter = Certificate.NotAfter;
        }

        var subjectPublicKeyInfo = publicKey.ExportSubjectPublicKeyInfo();
        X509Extension[] extensions =
        [
            LeafBasicConstraints,
            LeafKeyUsage,
            LeafExtendedKeyUsage,
            new X509SubjectKeyIdentifierExtension(PublicKey.CreateFromSubjectPublicKeyInfo(subjectPublicKeyInfo, out _), false),
            _authorityKeyIdentifier,
            SubjectAltName(name),
        ];

        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        var leaf = CertificateEncoder.Encode(
            Certificate.SubjectName, SubjectFor(name), serial, notBefore, notAfter, subjectPublicKeyInfo, extensions, _generator);
        return new IssuedBlessing(name, [leaf, _rootDer], notBefore, notAfter);
    }

    public void Dispose()
    {
        _key.Dispose();
        Certificate.Dispose();
    }

    private static X500DistinguishedName SubjectFor(string name)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName("sidecars");
        builder.AddCommonName(name.Length <= 64 ? name : name[^64..]);
        return builder.Build();
    }

    private static X509Extension SubjectAltName(string name)
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(BlessingName.ToUri(name));
        return san.Build(critical: false);
    }
}
