namespace Sidecars.Identity.Store;

/// <summary>The claimed root: blessing name, certificate (DER) and PKCS#8 private key.</summary>
public sealed record RootRecord(string Blessing, byte[] Certificate, byte[] PrivateKey, DateTimeOffset ClaimedAt);

/// <summary>A secret, kept only as the lowercase hex SHA-256 of its bytes, bound to an application extension.</summary>
public sealed record SecretRecord(string Hash, string Extension, DateTimeOffset CreatedAt);
