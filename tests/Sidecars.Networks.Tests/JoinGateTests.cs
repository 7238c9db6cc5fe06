namespace Sidecars.Networks.Tests;

public sealed class JoinGateTests
{
    [Fact]
    public async Task Up_to_the_limit_of_joins_run_at_once_and_the_next_waits_for_a_slot()
    {
        using var gate = new JoinGate(3);
        var running = new[] { await gate.JoinAsync(default), await gate.JoinAsync(default), await gate.JoinAsync(default) };
        Assert.Equal(3, gate.Joining);

        var fourth = gate.JoinAsync(default);
        Assert.False(fourth.IsCompleted);

        running[1].Dispose();
        using (await Soon(fourth))
        {
            Assert.Equal(3, gate.Joining);
        }

        running[0].Dispose();
        running[2].Dispose();
        Assert.Equal(0, gate.Joining);
    }

    [Fact]
    public async Task An_exclusive_change_waits_for_the_joins_in_flight_and_joins_arriving_meanwhile_wait_for_it()
    {
        using var gate = new JoinGate(2);
        var first = await gate.JoinAsync(default);
        var second = await gate.JoinAsync(default);

        var exclusive = gate.ExclusiveAsync(default);
        var later = gate.JoinAsync(default);
        first.Dispose();
        Assert.False(exclusive.IsCompleted);
        Assert.False(later.IsCompleted);

        second.Dispose();
        var admitted = await Soon(exclusive);
        Assert.Equal(2, gate.Joining);
        Assert.False(later.IsCompleted);

        admitted.Dispose();
        using (await Soon(later))
        {
            Assert.Equal(1, gate.Joining);
        }
    }

    [Fact]
    public async Task Exclusive_changes_run_one_at_a_time_without_splitting_the_slots_between_them()
    {
        using var gate = new JoinGate(4);
        var join = await gate.JoinAsync(default);
        var exclusives = Enumerable.Range(0, 3).Select(_ => gate.ExclusiveAsync(default)).ToArray();
        Assert.DoesNotContain(exclusives, p => p.IsCompleted);

        join.Dispose();
        var pending = exclusives.ToList();
        while (pending.Count > 0)
        {
            var admitted = await Soon(Task.WhenAny(pending));
            Assert.Equal(1, pending.Count(p => p.IsCompleted));
            Assert.Equal(4, gate.Joining);
            (await admitted).Dispose();
            pending.Remove(admitted);
        }

        using (await gate.JoinAsync(default))
        {
            Assert.Equal(1, gate.Joining);
        }
    }

    [Fact]
    public async Task A_cancelled_exclusive_change_gives_back_the_slots_it_had_taken()
    {
        using var gate = new JoinGate(3);
        var join = await gate.JoinAsync(default);
        using var cancel = new CancellationTokenSource();
        var exclusive = gate.ExclusiveAsync(cancel.Token);
        Assert.False(exclusive.IsCompleted);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Soon(exclusive));
        Assert.Equal(1, gate.Joining);

        join.Dispose();
        var joins = new[] { await gate.JoinAsync(default), await gate.JoinAsync(default), await gate.JoinAsync(default) };
        Assert.Equal(3, gate.Joining);
        foreach (var j in joins)
        {
            j.Dispose();
        }

        using (await gate.ExclusiveAsync(default))
        {
            Assert.Equal(3, gate.Joining);
        }
    }

    [Fact]
    public async Task Leaving_twice_gives_back_one_slot()
    {
        using var gate = new JoinGate(1);
        var join = await gate.JoinAsync(default);
        join.Dispose();
        join.Dispose();
        var again = await gate.JoinAsync(default);
        Assert.False(gate.JoinAsync(default).IsCompleted);
        again.Dispose();
    }

    /// <summary>A wait that the gate should end at once; a broken gate fails the test instead of hanging it.</summary>
    private static Task<T> Soon<T>(Task<T> task) => task.WaitAsync(TimeSpan.FromSeconds(30));
}
