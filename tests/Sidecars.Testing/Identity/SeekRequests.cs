using System.Security.Cryptography;
using Google.Protobuf;
using Sidecars.Contracts.V1;

namespace Sidecars.Testing.Identity;

/// <summary>The request a replica sends to be blessed: its secret, its public key and its name.</summary>
public static class SeekRequests
{
    public static SeekBlessingsRequest Seek(string secret, ECDsa key, string replica)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new()
        {
            Secret = secret,
            PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()),
            Replica = replica,
        };
    }
}
