using Microsoft.Extensions.Logging;

namespace Sidecars.Kubernetes.Controllers;

/// <summary>
/// Runs a level-triggered reconcile over a <see cref="WorkQueue{TKey}"/> with a fixed number of workers: each key is
/// reconciled by one worker at a time; a reconcile that throws or answers <see cref="Reconciled.Retry"/> is retried
/// with the key's backoff, one that succeeds resets it, and one that asks to be requeued is added again after its delay. Cancelling stops the queue, lets the
/// reconciles in flight see the cancellation, and waits for them.
/// </summary>
public static partial class ReconcileLoop
{
    public static async Task RunAsync<TKey>(
        WorkQueue<TKey> queue,
        int workers,
        Func<TKey, CancellationToken, Task<Reconciled>> reconcile,
        ILogger logger,
        CancellationToken cancellationToken)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(reconcile);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        using var stop = cancellationToken.Register(queue.ShutDown);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(queue, reconcile, logger, cancellationToken), CancellationToken.None)));
    }

    /// <summary>
    /// As <see cref="RunAsync{TKey}(WorkQueue{TKey}, int, Func{TKey, CancellationToken, Task{Reconciled}}, ILogger, CancellationToken)"/>,
    /// and every <paramref name="resyncInterval"/> calls <paramref name="resync"/> (which adds the keys to check again,
    /// level-triggered: a missed event is caught at the next resync) until cancelled.
    /// </summary>
    public static async Task RunAsync<TKey>(
        WorkQueue<TKey> queue,
        int workers,
        Func<TKey, CancellationToken, Task<Reconciled>> reconcile,
        ILogger logger,
        TimeSpan resyncInterval,
        Action resync,
        TimeProvider time,
        CancellationToken cancellationToken)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(resync);
        var reconciling = RunAsync(queue, workers, reconcile, logger, cancellationToken);
        using var timer = new PeriodicTimer(resyncInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                resync();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping (or the term that ran the loop ended).
        }

        await reconciling;
    }

    private static async Task WorkAsync<TKey>(
        WorkQueue<TKey> queue, Func<TKey, CancellationToken, Task<Reconciled>> reconcile, ILogger logger, CancellationToken ct)
        where TKey : notnull
    {
        while (true)
        {
            var (ok, key) = await queue.GetAsync(CancellationToken.None);
            if (!ok)
            {
                return;
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                var result = await reconcile(key, ct);
                if (result.Failed)
                {
                    queue.AddRateLimited(key);
                }
                else
                {
                    queue.Forget(key);
                    if (result.RequeueAfter is { } delay)
                    {
                        queue.AddAfter(key, delay);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Stopping: the key is not retried.
            }
            catch (Exception e)
            {
                Failed(logger, queue.Name, key.ToString() ?? string.Empty, queue.Requeues(key) + 1, e);
                queue.AddRateLimited(key);
            }
            finally
            {
                queue.ObserveWork(System.Diagnostics.Stopwatch.GetElapsedTime(started));
                queue.Done(key);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Error, "Reconciling {Queue} key {Key} failed (failure {Failures}); retrying with backoff")]
    private static partial void Failed(ILogger logger, string queue, string key, int failures, Exception exception);
}
