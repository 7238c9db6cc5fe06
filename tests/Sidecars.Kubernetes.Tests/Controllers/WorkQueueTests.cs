using Microsoft.Extensions.Logging.Abstractions;
using Sidecars.Kubernetes.Controllers;

namespace Sidecars.Kubernetes.Tests.Controllers;

public sealed class WorkQueueTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_key_added_while_it_waits_is_handed_out_once_in_the_order_of_first_adds()
    {
        using var queue = new WorkQueue<string>("test");
        queue.Add("a");
        queue.Add("b");
        queue.Add("a");
        Assert.Equal(2, queue.Depth);

        Assert.Equal("a", await NextAsync(queue));
        Assert.Equal("b", await NextAsync(queue));
        Assert.Equal(0, queue.Depth);
        Assert.False(queue.GetAsync(default).IsCompleted);
    }

    [Fact]
    public async Task A_key_added_while_it_is_processed_waits_for_done_and_is_then_processed_once_more()
    {
        using var queue = new WorkQueue<string>("test");
        queue.Add("a");
        Assert.Equal("a", await NextAsync(queue));

        queue.Add("a");
        queue.Add("a");
        Assert.Equal(0, queue.Depth);
        var next = queue.GetAsync(default);
        Assert.False(next.IsCompleted);

        queue.Done("a");
        Assert.Equal((true, "a"), await next.WaitAsync(Bound));
        queue.Done("a");
        Assert.Equal(0, queue.Depth);
        Assert.False(queue.GetAsync(default).IsCompleted);
    }

    [Fact]
    public async Task Workers_never_reconcile_one_key_at_the_same_time_and_changes_meanwhile_cause_one_more_pass()
    {
        using var queue = new WorkQueue<string>("test");
        using var stop = new CancellationTokenSource();
        var inFlight = 0;
        var overlap = false;
        var passes = new List<string>();
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var loop = ReconcileLoop.RunAsync(queue, workers: 4, async (key, ct) =>
        {
            if (Interlocked.Increment(ref inFlight) > 1)
            {
                overlap = true;
            }

            int pass;
            lock (passes)
            {
                passes.Add(key);
                pass = passes.Count;
            }

            if (pass == 1)
            {
                firstStarted.SetResult();
                await release.Task;
            }

            Interlocked.Decrement(ref inFlight);
            if (pass == 2)
            {
                secondDone.SetResult();
            }

            return Reconciled.Done;
        }, NullLogger.Instance, stop.Token);

        queue.Add("k");
        await firstStarted.Task.WaitAsync(Bound);
        for (var i = 0; i < 20; i++)
        {
            queue.Add("k");
        }

        release.SetResult();
        await secondDone.Task.WaitAsync(Bound);
        await stop.CancelAsync();
        await loop.WaitAsync(Bound);

        Assert.False(overlap);
        Assert.Equal(["k", "k"], passes);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 5)]
    [InlineData(2, 10)]
    [InlineData(5, 80)]
    [InlineData(20, 1000)]
    [InlineData(int.MaxValue, 1000)]
    public void Backoff_doubles_from_the_initial_delay_up_to_the_cap(int failures, int expectedMilliseconds)
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), backoff.Delay(failures));
    }

    [Fact]
    public async Task A_failed_key_comes_back_after_its_backoff_which_grows_per_key_until_forgotten()
    {
        var time = new ManualTimeProvider();
        using var queue = new WorkQueue<string>("test", time, new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4)));

        queue.AddRateLimited("a");
        queue.AddRateLimited("b");
        Assert.Equal(0, queue.Depth);
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(0, queue.Depth);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, queue.Depth);
        Assert.Equal("a", await NextAsync(queue));

        // The second failure of a waits twice as long; b's count is its own.
        queue.AddRateLimited("a");
        queue.Done("a");
        Assert.Equal(2, queue.Requeues("a"));
        time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.Equal(1, queue.Depth);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, queue.Depth);
        Assert.Equal(1, queue.Requeues("b"));

        queue.Forget("a");
        Assert.Equal(0, queue.Requeues("a"));
    }

    [Fact]
    public void Of_several_delayed_adds_of_a_key_the_earliest_counts()
    {
        var time = new ManualTimeProvider();
        using var queue = new WorkQueue<string>("test", time);
        queue.AddAfter("a", TimeSpan.FromSeconds(10));
        queue.AddAfter("a", TimeSpan.FromSeconds(2));
        queue.AddAfter("a", TimeSpan.FromSeconds(5));
        Assert.Equal(1, time.PendingTimers);

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, queue.Depth);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, queue.Depth);
    }

    [Fact]
    public async Task Shutting_down_hands_out_what_is_queued_then_ends_every_waiting_worker_and_ignores_new_keys()
    {
        var time = new ManualTimeProvider();
        using var queue = new WorkQueue<string>("test", time);
        queue.Add("a");
        queue.AddAfter("b", TimeSpan.FromSeconds(1));
        queue.ShutDown();
        queue.Add("c");

        Assert.Equal("a", await NextAsync(queue));
        var waiting = queue.GetAsync(default);
        Assert.Equal((false, (string)null!), await waiting.WaitAsync(Bound));
        Assert.Equal(0, time.PendingTimers);
        Assert.True(queue.IsShuttingDown);
    }

    [Fact]
    public async Task Cancelling_the_loop_cancels_the_reconcile_in_flight_and_returns_without_retrying_it()
    {
        using var queue = new WorkQueue<string>("test");
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var loop = ReconcileLoop.RunAsync(queue, workers: 2, async (_, ct) =>
        {
            Interlocked.Increment(ref calls);
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return Reconciled.Done;
        }, NullLogger.Instance, stop.Token);

        queue.Add("a");
        await started.Task.WaitAsync(Bound);
        await stop.CancelAsync();
        await loop.WaitAsync(Bound);
        Assert.Equal(1, calls);
        Assert.Equal(0, queue.Requeues("a"));
    }

    [Fact]
    public async Task The_resync_adds_keys_each_interval_until_the_loop_is_cancelled()
    {
        var time = new ManualTimeProvider();
        using var queue = new WorkQueue<string>("test", time);
        using var stop = new CancellationTokenSource();
        var reconciled = System.Threading.Channels.Channel.CreateUnbounded<string>();
        var resyncs = 0;
        var loop = ReconcileLoop.RunAsync(queue, workers: 1, async (key, ct) =>
        {
            await reconciled.Writer.WriteAsync(key, ct);
            return Reconciled.Done;
        }, NullLogger.Instance, TimeSpan.FromMinutes(1), () => queue.Add($"resync-{Interlocked.Increment(ref resyncs)}"), time, stop.Token);

        Assert.Equal(0, resyncs);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("resync-1", await reconciled.Reader.ReadAsync().AsTask().WaitAsync(Bound));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("resync-2", await reconciled.Reader.ReadAsync().AsTask().WaitAsync(Bound));
        await stop.CancelAsync();
        await loop.WaitAsync(Bound);
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(2, resyncs);
        Assert.False(reconciled.Reader.TryRead(out _));
    }

    [Fact]
    public async Task A_reconcile_that_throws_is_retried_after_the_backoff_and_success_resets_the_count()
    {
        var time = new ManualTimeProvider();
        using var queue = new WorkQueue<string>("test", time, new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)));
        using var stop = new CancellationTokenSource();
        var attempts = 0;
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var succeeded = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = ReconcileLoop.RunAsync(queue, workers: 1, (_, _) =>
        {
            if (Interlocked.Increment(ref attempts) == 1)
            {
                failed.SetResult();
                throw new InvalidOperationException("the apiserver said no");
            }

            succeeded.SetResult(queue.Requeues("a"));
            return Task.FromResult(Reconciled.Done);
        }, NullLogger.Instance, stop.Token);

        queue.Add("a");
        await failed.Task.WaitAsync(Bound);
        await Eventually(() => queue.Requeues("a") == 1 && time.PendingTimers == 1, "the failed key waits for its backoff");
        Assert.Equal(1, attempts);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await succeeded.Task.WaitAsync(Bound));
        await Eventually(() => queue.Requeues("a") == 0, "success forgets the failures");
        await stop.CancelAsync();
        await loop.WaitAsync(Bound);
    }

    [Fact]
    public async Task A_reconcile_that_answers_retry_keeps_its_failure_count_and_comes_back_after_the_backoff()
    {
        var time = new ManualTimeProvider();
        using var queue = new WorkQueue<string>("test", time, new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)));
        using var stop = new CancellationTokenSource();
        var passes = 0;
        var third = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = ReconcileLoop.RunAsync(queue, workers: 1, (_, _) =>
        {
            if (Interlocked.Increment(ref passes) == 3)
            {
                third.SetResult();
                return Task.FromResult(Reconciled.Done);
            }

            return Task.FromResult(Reconciled.Retry);
        }, NullLogger.Instance, stop.Token);

        queue.Add("a");
        await Eventually(() => queue.Requeues("a") == 1 && time.PendingTimers == 1, "the first retry waits 1 s");
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually(() => queue.Requeues("a") == 2 && time.PendingTimers == 1, "the second retry waits 2 s");
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, passes);
        time.Advance(TimeSpan.FromSeconds(1));
        await third.Task.WaitAsync(Bound);
        await Eventually(() => queue.Requeues("a") == 0, "success forgets the failures");
        await stop.CancelAsync();
        await loop.WaitAsync(Bound);
    }

    [Fact]
    public async Task A_reconcile_that_asks_to_be_requeued_comes_back_after_its_delay()
    {
        var time = new ManualTimeProvider();
        using var queue = new WorkQueue<string>("test", time);
        using var stop = new CancellationTokenSource();
        var passes = 0;
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = ReconcileLoop.RunAsync(queue, workers: 1, (_, _) =>
        {
            if (Interlocked.Increment(ref passes) == 2)
            {
                second.SetResult();
            }

            return Task.FromResult(passes == 1 ? Reconciled.After(TimeSpan.FromMinutes(3)) : Reconciled.Done);
        }, NullLogger.Instance, stop.Token);

        queue.Add("a");
        await Eventually(() => time.PendingTimers == 1, "the requeue is scheduled");
        Assert.Equal(1, passes);
        time.Advance(TimeSpan.FromMinutes(3));
        await second.Task.WaitAsync(Bound);
        await stop.CancelAsync();
        await loop.WaitAsync(Bound);
    }

    private static async Task<string> NextAsync(WorkQueue<string> queue)
    {
        var (ok, key) = await queue.GetAsync(default).WaitAsync(Bound);
        Assert.True(ok);
        return key;
    }

    /// <summary>Polls a condition the workers make true, with a bound; fails with <paramref name="what"/>.</summary>
    private static async Task Eventually(Func<bool> condition, string what)
    {
        using var bound = new CancellationTokenSource(Bound);
        while (!condition())
        {
            Assert.False(bound.IsCancellationRequested, what);
            await Task.Yield();
        }
    }
}
