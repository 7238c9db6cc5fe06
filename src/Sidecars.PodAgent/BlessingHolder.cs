using System.Security.Cryptography;
using Sidecars.Contracts.V1;

namespace Sidecars.PodAgent;

/// <summary>
/// The replica's key pair (generated here, never exported) and its current blessing; watchers wait on
/// <see cref="WaitForChangeAsync"/> for renewals.
/// </summary>
public sealed class BlessingHolder : IDisposable
{
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Blessing? _current;
    private long _generation;

    public BlessingHolder(TimeProvider time)
    {
        _time = time;
        Key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        PublicKey = Key.ExportSubjectPublicKeyInfo();
    }

    public ECDsa Key { get; }

    /// <summary>SubjectPublicKeyInfo (DER) sent with SeekBlessings.</summary>
    public byte[] PublicKey { get; }

    public Blessing? Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>True while the current blessing is within its validity period.</summary>
    public bool IsValid
    {
        get
        {
            var current = Current;
            return current is not null && current.NotAfter.ToDateTimeOffset() > _time.GetUtcNow();
        }
    }

    /// <summary>The roots the cluster agent trusts, as of the last issuance.</summary>
    public TrustRoots TrustRoots { get; private set; } = new();

    public void Set(Blessing blessing, TrustRoots roots)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _current = blessing;
            TrustRoots = roots;
            _generation++;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>Completes when the generation moves past <paramref name="seen"/>.</summary>
    public Task WaitForChangeAsync(long seen, CancellationToken cancellationToken)
    {
        Task changed;
        lock (_gate)
        {
            if (_generation != seen)
            {
                return Task.CompletedTask;
            }

            changed = _changed.Task;
        }

        return changed.WaitAsync(cancellationToken);
    }

    public byte[] Sign(ReadOnlySpan<byte> data) =>
        Key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    public void Dispose() => Key.Dispose();
}
