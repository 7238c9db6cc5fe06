using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Identity.Attestation;
using Sidecars.Identity.Blessings;
using Sidecars.Identity.Secrets;
using Sidecars.Identity.Store;

namespace Sidecars.Identity.Service;

/// <summary>The cluster agent's identity: claiming the root, managing secrets and issuing replica blessings.</summary>
public sealed partial class ClusterIdentity : IDisposable
{
    private readonly IIdentityStore _store;
    private readonly IOptions<IdentityOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ClusterIdentity> _logger;
    private readonly IPodAttestor? _attestor;
    private readonly SemaphoreSlim _rootGate = new(1, 1);
    private BlessingAuthority? _authority;

    /// <param name="attestor">Reviews pod tokens; required when <see cref="IdentityOptions.ReplicaAttestation"/> is PodToken.</param>
    public ClusterIdentity(IIdentityStore store, IOptions<IdentityOptions> options, TimeProvider time, ILogger<ClusterIdentity> logger, IPodAttestor? attestor = null)
    {
        _attestor = attestor;
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>The root, loaded from the store once claimed; null before Claim.</summary>
    public async Task<BlessingAuthority?> GetAuthorityAsync(CancellationToken cancellationToken)
    {
        if (_authority is { } cached)
        {
            return cached;
        }

        await _rootGate.WaitAsync(cancellationToken);
        try
        {
            if (_authority is null && await _store.GetRootAsync(cancellationToken) is { } root)
            {
                _authority = BlessingAuthority.Load(root.Certificate, root.PrivateKey);
            }

            return _authority;
        }
        finally
        {
            _rootGate.Release();
        }
    }

    public async Task<BlessingAuthority> ClaimAsync(string blessing, CancellationToken cancellationToken)
    {
        if (!BlessingName.IsValid(blessing, out var error))
        {
            throw new IdentityException(IdentityError.InvalidArgument, "blessing: " + error);
        }

        if (await GetAuthorityAsync(cancellationToken) is { } existing)
        {
            throw new IdentityException(IdentityError.AlreadyClaimed, $"the cluster agent is already claimed as '{existing.Name}'");
        }

        var now = _time.GetUtcNow();
        var authority = BlessingAuthority.CreateRoot(blessing, now, _options.Value.RootValidity);
        var record = new RootRecord(blessing, authority.Certificate.RawData, authority.ExportPrivateKey(), now);
        if (!await _store.TryCreateRootAsync(record, cancellationToken))
        {
            authority.Dispose();
            var winner = await GetAuthorityAsync(cancellationToken);
            throw new IdentityException(IdentityError.AlreadyClaimed, $"the cluster agent is already claimed as '{winner?.Name}'");
        }

        await _rootGate.WaitAsync(cancellationToken);
        try
        {
            _authority ??= authority;
        }
        finally
        {
            _rootGate.Release();
        }

        LogClaimed(blessing);
        return _authority;
    }

    public async Task<(string Secret, string Blessing)> NewSecretAsync(string extension, CancellationToken cancellationToken)
    {
        if (!BlessingName.IsValid(extension, out var error))
        {
            throw new IdentityException(IdentityError.InvalidArgument, "extension: " + error);
        }

        var authority = await RequireAuthorityAsync(cancellationToken);
        var blessing = BlessingName.Extend(authority.Name, extension);
        if (blessing.Length > BlessingName.MaxLength - BlessingName.MaxSegmentLength - 1)
        {
            throw new IdentityException(IdentityError.InvalidArgument, "extension: too long to leave room for replica names");
        }

        var secret = SecretCodec.NewSecret();
        SecretCodec.TryHash(secret, out var hash);
        await _store.AddSecretAsync(new SecretRecord(SecretCodec.ToKey(hash), extension, _time.GetUtcNow()), cancellationToken);
        IdentityMetrics.SecretsCreated.Inc();
        LogSecretCreated(blessing);
        return (secret, blessing);
    }

    public async Task<string> ForgetSecretAsync(string secret, CancellationToken cancellationToken)
    {
        var record = await FindAsync(secret, cancellationToken);
        if (await _store.RemoveSecretAsync(record.Hash, cancellationToken) is null)
        {
            throw UnknownSecret();
        }

        var blessing = await BlessingForAsync(record.Extension, cancellationToken);
        IdentityMetrics.SecretsForgotten.Inc();
        LogSecretForgotten(blessing);
        return blessing;
    }

    /// <summary>
    /// Issues the blessing of <paramref name="replica"/> of the secret's application, for the holder of
    /// <paramref name="publicKey"/>, to the pod <paramref name="podToken"/> is bound to (when attestation is on).
    /// </summary>
    public async Task<IssuedBlessing> SeekBlessingsAsync(
        string secret, ReadOnlyMemory<byte> publicKey, string replica, string? podToken, CancellationToken cancellationToken)
    {
        if (!BlessingName.IsValid(replica, out var error) || replica.Contains(BlessingName.Separator, StringComparison.Ordinal))
        {
            throw new IdentityException(IdentityError.InvalidArgument, "replica: " + (error ?? "must be a single part without ':'"));
        }

        if (!SecretCodec.TryHash(secret, out _))
        {
            throw new IdentityException(IdentityError.InvalidArgument, $"secret: must be {SecretCodec.EncodedLength} base64url characters");
        }

        if (!BlessingCertificates.TryImportP256PublicKey(publicKey.Span, out var key, out var keyError))
        {
            throw new IdentityException(IdentityError.InvalidArgument, keyError ?? "public_key is invalid");
        }

        using (key)
        {
            var authority = await RequireAuthorityAsync(cancellationToken);
            var record = await FindAsync(secret, cancellationToken);
            await AttestAsync(podToken, replica, record.Extension, cancellationToken);
            var name = BlessingName.Extend(BlessingName.Extend(authority.Name, record.Extension), replica);
            if (!BlessingName.IsValid(name, out var nameError))
            {
                throw new IdentityException(IdentityError.InvalidArgument, "replica: " + nameError);
            }

            return authority.Issue(name, key!, _time.GetUtcNow(), _options.Value.BlessingLifetime);
        }
    }

    public void Dispose()
    {
        _authority?.Dispose();
        _rootGate.Dispose();
    }

    private async Task<SecretRecord> FindAsync(string secret, CancellationToken cancellationToken)
    {
        if (!SecretCodec.TryHash(secret, out var hash))
        {
            throw new IdentityException(IdentityError.InvalidArgument, $"secret: must be {SecretCodec.EncodedLength} base64url characters");
        }

        var record = await _store.FindSecretAsync(SecretCodec.ToKey(hash), cancellationToken);

        // The lookup is keyed by the hash; comparing the full hashes in constant time keeps a partial match from
        // being observable should a store ever look up by prefix.
        if (record is null || !CryptographicOperations.FixedTimeEquals(Convert.FromHexString(record.Hash), hash))
        {
            throw UnknownSecret();
        }

        return record;
    }

    private async Task AttestAsync(string? podToken, string replica, string extension, CancellationToken cancellationToken)
    {
        if (_options.Value.ReplicaAttestation == ReplicaAttestation.SecretOnly)
        {
            return;
        }

        if (string.IsNullOrEmpty(podToken))
        {
            throw new IdentityException(IdentityError.Unauthenticated,
                $"no pod token: the pod-agent must send its pod's projected service-account token for audience '{_options.Value.PodTokenAudience}'");
        }

        var attestor = _attestor ?? throw new InvalidOperationException("pod token attestation is on but no attestor is registered");
        var pod = await attestor.AttestAsync(podToken, cancellationToken);
        if (ReplicaAttestationRules.Refusal(pod, replica, extension) is { } refusal)
        {
            LogReplicaRefused(pod.Namespace, pod.Name, replica);
            throw new IdentityException(IdentityError.NotThisReplica, refusal);
        }
    }

    private async Task<BlessingAuthority> RequireAuthorityAsync(CancellationToken cancellationToken) =>
        await GetAuthorityAsync(cancellationToken)
        ?? throw new IdentityException(IdentityError.NotClaimed, "the cluster agent is not claimed yet: an admin must run 'sidecarsctl claim' first");

    private async Task<string> BlessingForAsync(string extension, CancellationToken cancellationToken) =>
        await GetAuthorityAsync(cancellationToken) is { } authority ? BlessingName.Extend(authority.Name, extension) : extension;

    private static IdentityException UnknownSecret() =>
        new(IdentityError.UnknownSecret, "the secret is not known: it was never issued or has been forgotten (revoked)");
}
