using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sidecars.Identity.Blessings;

/// <summary>Reads blessing names out of certificates and checks replica keys.</summary>
public static class BlessingCertificates
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private const string NistP256Oid = "1.2.840.10045.3.1.7";
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>The blessing name in the certificate's URI SAN, or null when it carries none.</summary>
    public static string? GetBlessingName(X509Certificate2 certificate)
    {
        var extension = certificate.Extensions[SubjectAltNameOid];
        if (extension is null)
        {
            return null;
        }

        try
        {
            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
            var names = reader.ReadSequence();
            var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
            while (names.HasData)
            {
                if (names.PeekTag().HasSameClassAndValue(uriTag))
                {
                    var name = BlessingName.FromUri(names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
                    if (name is not null)
                    {
                        return name;
                    }
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
        }
        catch (AsnContentException)
        {
            return null;
        }

        return null;
    }

    /// <summary>Imports a SubjectPublicKeyInfo that must hold an ECDSA P-256 key.</summary>
    public static bool TryImportP256PublicKey(ReadOnlySpan<byte> subjectPublicKeyInfo, out ECDsa? key, out string? error)
    {
        key = null;
        if (subjectPublicKeyInfo.IsEmpty)
        {
            error = "public_key is empty: send the SubjectPublicKeyInfo (DER) of an ECDSA P-256 key";
            return false;
        }

        var candidate = ECDsa.Create();
        try
        {
            candidate.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out var read);
            if (read != subjectPublicKeyInfo.Length)
            {
                error = "public_key has trailing bytes after the SubjectPublicKeyInfo";
                candidate.Dispose();
                return false;
            }

            if (candidate.ExportParameters(false).Curve.Oid?.Value != NistP256Oid)
            {
                error = "public_key must be an ECDSA key on curve P-256";
                candidate.Dispose();
                return false;
            }
        }
        catch (CryptographicException)
        {
            error = "public_key is not a DER SubjectPublicKeyInfo of an ECDSA key";
            candidate.Dispose();
            return false;
        }

        key = candidate;
        error = null;
        return true;
    }
}
