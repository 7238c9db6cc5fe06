namespace Sidecars.UserPods.Pods;

/// <summary>
/// Runs the concurrent parts of a request (token fetches, deletes) and counts them, so a test can show that no task
/// outlives its request: every method here returns only once all the work it started has finished.
/// </summary>
public sealed class RequestWork
{
    private int _active;

    public int ActiveTasks => Volatile.Read(ref _active);

    /// <summary>Runs every item concurrently and returns their results once all have finished.</summary>
    public async Task<TResult[]> AllAsync<TItem, TResult>(
        IEnumerable<TItem> items, Func<TItem, CancellationToken, Task<TResult>> work, CancellationToken cancellationToken)
    {
        var tasks = items.Select(item => TrackAsync(item, work, cancellationToken)).ToList();
        return await Task.WhenAll(tasks);
    }

    private async Task<TResult> TrackAsync<TItem, TResult>(
        TItem item, Func<TItem, CancellationToken, Task<TResult>> work, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _active);
        try
        {
            await Task.Yield();
            return await work(item, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }
}
