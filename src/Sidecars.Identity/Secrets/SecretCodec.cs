using System.Buffers.Text;
using System.Security.Cryptography;

namespace Sidecars.Identity.Secrets;

/// <summary>Secrets are 32 random bytes in base64url (no padding); only their SHA-256 is ever stored.</summary>
public static class SecretCodec
{
    public const int SecretBytes = 32;
    public const int EncodedLength = 43;

    public static string NewSecret()
    {
        Span<byte> bytes = stackalloc byte[SecretBytes];
        RandomNumberGenerator.Fill(bytes);
        var text = Base64Url.EncodeToString(bytes);
        CryptographicOperations.ZeroMemory(bytes);
        return text;
    }

    /// <summary>The stored form (lowercase hex SHA-256) of a well-formed secret; false when malformed.</summary>
    public static bool TryHash(string? secret, out byte[] hash)
    {
        hash = [];
        if (secret is null || secret.Length != EncodedLength)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[SecretBytes + 2];
        if (Base64Url.DecodeFromChars(secret, bytes, out var consumed, out var written) != System.Buffers.OperationStatus.Done
            || consumed != EncodedLength || written != SecretBytes)
        {
            return false;
        }

        hash = SHA256.HashData(bytes[..SecretBytes]);
        CryptographicOperations.ZeroMemory(bytes);
        return true;
    }

    public static string ToKey(byte[] hash) => Convert.ToHexStringLower(hash);
}
