namespace Sidecars.Identity.Store;

/// <summary>Durable identity state: the claimed root and the secret hashes. Every write is durable on return.</summary>
public interface IIdentityStore
{
    Task<RootRecord?> GetRootAsync(CancellationToken cancellationToken);

    /// <summary>Stores the root unless one exists; false when it was already claimed.</summary>
    Task<bool> TryCreateRootAsync(RootRecord root, CancellationToken cancellationToken);

    Task<SecretRecord?> FindSecretAsync(string hash, CancellationToken cancellationToken);

    Task AddSecretAsync(SecretRecord secret, CancellationToken cancellationToken);

    /// <summary>Removes a secret; returns it, or null when it was not stored.</summary>
    Task<SecretRecord?> RemoveSecretAsync(string hash, CancellationToken cancellationToken);
}
