namespace Sidecars.Kubernetes.Controllers;

/// <summary>
/// How a reconcile of one key ended: done; to be looked at again after a while (a deadline); or failed in a way it
/// has reported itself, to be retried with the key's backoff (<see cref="Retry"/>; an exception does the same and is logged).
/// </summary>
public readonly record struct Reconciled(TimeSpan? RequeueAfter, bool Failed = false)
{
    public static Reconciled Done => default;

    public static Reconciled Retry => new(null, Failed: true);

    public static Reconciled After(TimeSpan delay) => new(delay);
}
