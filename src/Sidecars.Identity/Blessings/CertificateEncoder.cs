using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sidecars.Identity.Blessings;

/// <summary>
/// Assembles and signs an X.509 v3 certificate (RFC 5280 §4.1) from parts the framework encodes: the names, the
/// extensions, the subject's SubjectPublicKeyInfo and the issuer's <see cref="X509SignatureGenerator"/>. The bytes
/// are those <see cref="CertificateRequest"/> would sign; <c>CertificateRequest.Create</c> also loads them back into
/// an <see cref="X509Certificate2"/>, which with OpenSSL 3 costs several times the signature itself, and issuing a
/// blessing needs only the DER.
/// </summary>
internal static class CertificateEncoder
{
    private static readonly Asn1Tag Version = new(TagClass.ContextSpecific, 0);
    private static readonly Asn1Tag Extensions = new(TagClass.ContextSpecific, 3);

    public static byte[] Encode(
        X500DistinguishedName issuer,
        X500DistinguishedName subject,
        ReadOnlySpan<byte> serialNumber,
        DateTimeOffset notBefore,
        DateTimeOffset notAfter,
        ReadOnlySpan<byte> subjectPublicKeyInfo,
        IReadOnlyList<X509Extension> extensions,
        X509SignatureGenerator generator)
    {
        if (notAfter < notBefore)
        {
            throw new ArgumentException("notAfter is earlier than notBefore", nameof(notAfter));
        }

        var signatureAlgorithm = generator.GetSignatureAlgorithmIdentifier(HashAlgorithmName.SHA256);
        var tbs = new AsnWriter(AsnEncodingRules.DER);
        using (tbs.PushSequence())
        {
            using (tbs.PushSequence(Version))
            {
                tbs.WriteInteger(2);
            }

            tbs.WriteInteger(new BigInteger(serialNumber, isUnsigned: true, isBigEndian: true));
            tbs.WriteEncodedValue(signatureAlgorithm);
            tbs.WriteEncodedValue(issuer.RawData);
            using (tbs.PushSequence())
            {
                WriteTime(tbs, notBefore);
                WriteTime(tbs, notAfter);
            }

            tbs.WriteEncodedValue(subject.RawData);
            tbs.WriteEncodedValue(subjectPublicKeyInfo);
            WriteExtensions(tbs, extensions);
        }

        var toBeSigned = tbs.Encode();
        var certificate = new AsnWriter(AsnEncodingRules.DER);
        using (certificate.PushSequence())
        {
            certificate.WriteEncodedValue(toBeSigned);
            certificate.WriteEncodedValue(signatureAlgorithm);
            certificate.WriteBitString(generator.SignData(toBeSigned, HashAlgorithmName.SHA256));
        }

        return certificate.Encode();
    }

    private static void WriteExtensions(AsnWriter writer, IReadOnlyList<X509Extension> extensions)
    {
        if (extensions.Count == 0)
        {
            return;
        }

        using (writer.PushSequence(Extensions))
        using (writer.PushSequence())
        {
            foreach (var extension in extensions)
            {
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(extension.Oid?.Value ?? throw new ArgumentException("an extension has no OID", nameof(extensions)));
                    if (extension.Critical)
                    {
                        writer.WriteBoolean(true);
                    }

                    writer.WriteOctetString(extension.RawData);
                }
            }
        }
    }

    // RFC 5280 §4.1.2.5: UTCTime for dates through 2049, GeneralizedTime from 2050, both in whole seconds.
    private static void WriteTime(AsnWriter writer, DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        utc = utc.AddTicks(-(utc.Ticks % TimeSpan.TicksPerSecond));
        if (utc.Year is >= 1950 and < 2050)
        {
            writer.WriteUtcTime(utc);
        }
        else
        {
            writer.WriteGeneralizedTime(utc, omitFractionalSeconds: true);
        }
    }
}
