namespace Sidecars.Kubernetes.Controllers;

/// <summary>How a reconcile of one key ended: done, or to be looked at again after a while (a deadline, a retry).</summary>
public readonly record struct Reconciled(TimeSpan? RequeueAfter)
{
    public static Reconciled Done => default;

    public static Reconciled After(TimeSpan delay) => new(delay);
}
