using Sidecars.Webhook.Admission;

namespace Sidecars.Webhook.Tests;

/// <summary>The bounds on direct reads a miss in the namespace informer may cause.</summary>
public sealed class BoundedReadsTests
{
    private sealed class ManualTime : TimeProvider
    {
        private long _now = 1_000_000;

        public override long TimestampFrequency => 1_000;

        public override long GetTimestamp() => Interlocked.Read(ref _now);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _now, (long)by.TotalMilliseconds);
    }

    /// <summary>A reader that counts reads and answers each when the test says so.</summary>
    private sealed class Reader
    {
        private readonly Dictionary<string, string> _existing;
        private int _reads;

        public Reader(params string[] existing) => _existing = existing.ToDictionary(n => n, n => "object " + n);

        public TaskCompletionSource? Gate { get; set; }

        public int Reads => Volatile.Read(ref _reads);

        public Exception? Fail { get; set; }

        public async Task<string?> ReadAsync(string name, CancellationToken ct)
        {
            Interlocked.Increment(ref _reads);
            if (Gate is { } gate)
            {
                await gate.Task.WaitAsync(ct);
            }

            if (Fail is { } fail)
            {
                throw fail;
            }

            return _existing.GetValueOrDefault(name);
        }
    }

    private static readonly BoundedReadLimits NoRefill = new() { Burst = 100, RefillPerPeriod = 1, RefillPeriod = TimeSpan.FromHours(1) };

    [Fact]
    public async Task Lookups_of_one_name_while_it_is_being_read_share_the_one_read()
    {
        var reader = new Reader("team-a") { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        using var reads = new BoundedReads<string>(reader.ReadAsync, NoRefill);

        var lookups = Enumerable.Range(0, 20).Select(_ => reads.GetAsync("team-a", CancellationToken.None).AsTask()).ToList();
        reader.Gate.SetResult();
        var answers = await Task.WhenAll(lookups);

        Assert.Equal(1, reader.Reads);
        Assert.All(answers, a => Assert.Equal("object team-a", a.Value));
        Assert.Equal(1, answers.Count(a => a.Result == BoundedReadResult.Read));
        Assert.Equal(19, answers.Count(a => a.Result == BoundedReadResult.Shared));
    }

    [Fact]
    public async Task A_name_found_missing_is_answered_as_missing_without_reading_until_the_memory_expires()
    {
        var time = new ManualTime();
        var reader = new Reader();
        using var reads = new BoundedReads<string>(reader.ReadAsync, NoRefill with { RememberMissingFor = TimeSpan.FromSeconds(10) }, time);

        Assert.Equal((null, BoundedReadResult.Read), await reads.GetAsync("made-up", CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal((null, BoundedReadResult.RememberedMissing), await reads.GetAsync("made-up", CancellationToken.None));
        Assert.Equal(1, reader.Reads);

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal((null, BoundedReadResult.Read), await reads.GetAsync("made-up", CancellationToken.None));
        Assert.Equal(2, reader.Reads);
    }

    [Fact]
    public async Task Names_that_exist_are_not_remembered_as_missing()
    {
        var reader = new Reader("team-a");
        using var reads = new BoundedReads<string>(reader.ReadAsync, NoRefill);

        await reads.GetAsync("team-a", CancellationToken.None);
        var again = await reads.GetAsync("team-a", CancellationToken.None);

        Assert.Equal(("object team-a", BoundedReadResult.Read), again);
        Assert.Equal(2, reader.Reads);
    }

    [Fact]
    public async Task Reads_of_distinct_names_stop_when_the_budget_is_spent()
    {
        var reader = new Reader();
        using var reads = new BoundedReads<string>(reader.ReadAsync, NoRefill with { Burst = 5 });

        var results = new List<BoundedReadResult>();
        for (var i = 0; i < 50; i++)
        {
            results.Add((await reads.GetAsync("made-up-" + i, CancellationToken.None)).Result);
        }

        Assert.Equal(5, reader.Reads);
        Assert.Equal(5, results.Count(r => r == BoundedReadResult.Read));
        Assert.Equal(45, results.Count(r => r == BoundedReadResult.Throttled));
    }

    [Fact]
    public async Task Memory_of_missing_names_is_bounded()
    {
        var reader = new Reader();
        using var reads = new BoundedReads<string>(reader.ReadAsync, NoRefill with { MaxRemembered = 3 });

        for (var i = 0; i < 5; i++)
        {
            await reads.GetAsync("made-up-" + i, CancellationToken.None);
        }

        // The first three are remembered; the fourth and fifth found the memory full and are read again.
        Assert.Equal(BoundedReadResult.RememberedMissing, (await reads.GetAsync("made-up-0", CancellationToken.None)).Result);
        Assert.Equal(BoundedReadResult.Read, (await reads.GetAsync("made-up-4", CancellationToken.None)).Result);
    }

    [Fact]
    public async Task A_failed_read_fails_its_waiters_and_is_not_remembered()
    {
        var reader = new Reader { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), Fail = new HttpRequestException("apiserver unreachable") };
        using var reads = new BoundedReads<string>(reader.ReadAsync, NoRefill);

        var first = reads.GetAsync("team-a", CancellationToken.None).AsTask();
        var second = reads.GetAsync("team-a", CancellationToken.None).AsTask();
        reader.Gate.SetResult();

        await Assert.ThrowsAsync<HttpRequestException>(() => first);
        await Assert.ThrowsAsync<HttpRequestException>(() => second);
        reader.Fail = null;
        reader.Gate = null;
        Assert.Equal(BoundedReadResult.Read, (await reads.GetAsync("team-a", CancellationToken.None)).Result);
    }
}
