using Sidecars.Testing;

namespace Sidecars.Clusters.Tests;

public sealed class ClusterStateMachineTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(10);
    private readonly ClusterStateMachine _machine = new("ns", TimeProvider.System);

    [Fact]
    public async Task Create_waits_until_available()
    {
        var decision = _machine.BeginCreate("c1", 3, Long, deleteOnTimeout: false);
        Assert.Equal(CreateAction.CreateDeployment, decision.Action);
        Assert.Equal(ClusterPhase.CreateInProgress, decision.Status.Phase);

        _machine.Observe("c1", Deployments.Make(available: 1, ready: 1, total: 3), pods: 3);
        Assert.False(decision.Outcome!.IsCompleted);
        Assert.Equal(ClusterPhase.CreateInProgress, _machine.Get("c1")!.Phase);

        _machine.Observe("c1", Deployments.Available(), pods: 3);
        var outcome = await decision.Outcome;
        Assert.Equal(OutcomeCode.Ok, outcome.Code);
        Assert.Equal(ClusterPhase.Available, outcome.Status.Phase);
        Assert.Equal(3, outcome.Status.AvailableReplicas);
        Assert.Equal(0, _machine.ActiveOperations);
    }

    [Fact]
    public async Task Concurrent_creates_share_one_outcome()
    {
        var first = _machine.BeginCreate("c1", 3, Long, false);
        var second = _machine.BeginCreate("c1", 3, Long, false);
        Assert.Equal(CreateAction.Wait, second.Action);
        Assert.Same(first.Outcome, second.Outcome);

        var waiters = new[] { _machine.WaitAsync(first.Outcome!, Long, default), _machine.WaitAsync(second.Outcome!, Long, default) };
        Assert.Equal(2, _machine.ActiveWaiters);
        _machine.Observe("c1", Deployments.Available(), 3);
        var outcomes = await Task.WhenAll(waiters);
        Assert.All(outcomes, o => Assert.Equal(OutcomeCode.Ok, o.Code));
        Assert.Equal(0, _machine.ActiveWaiters);
    }

    [Fact]
    public async Task Create_of_available_cluster_is_idempotent()
    {
        _machine.Observe("c1", Deployments.Available(), 3);
        var decision = _machine.BeginCreate("c1", 3, Long, false);
        Assert.Equal(CreateAction.Done, decision.Action);
        Assert.Equal(OutcomeCode.Ok, (await decision.Outcome!).Code);
    }

    [Fact]
    public void Delete_of_unknown_cluster_is_not_found()
    {
        Assert.Equal(DeleteAction.NotFound, _machine.BeginDelete("nope").Action);
    }

    [Fact]
    public async Task Delete_during_create_aborts_create_waiters_and_completes_when_pods_are_gone()
    {
        var create = _machine.BeginCreate("c1", 3, Long, false);
        _machine.Observe("c1", Deployments.Make(available: 1, total: 3), 3);
        var waiter = _machine.WaitAsync(create.Outcome!, Long, default);

        var delete = _machine.BeginDelete("c1");
        Assert.Equal(DeleteAction.DeleteDeployment, delete.Action);
        var aborted = await waiter;
        Assert.Equal(OutcomeCode.Aborted, aborted.Code);
        Assert.Equal(ClusterPhase.DeleteInProgress, _machine.Get("c1")!.Phase);
        Assert.Equal(CreateAction.Conflict, _machine.BeginCreate("c1", 3, Long, false).Action);

        var again = _machine.BeginDelete("c1");
        Assert.Equal(DeleteAction.Wait, again.Action);
        Assert.Same(delete.Outcome, again.Outcome);

        _machine.Observe("c1", Deployments.Make(available: 1, total: 3, deleting: true), 3);
        _machine.Observe("c1", null, 2);
        Assert.False(delete.Outcome!.IsCompleted);
        _machine.Observe("c1", null, 0);
        Assert.Equal(OutcomeCode.Ok, (await delete.Outcome).Code);
        Assert.Null(_machine.Get("c1"));
        Assert.Equal(0, _machine.ActiveOperations);
    }

    [Fact]
    public async Task Deadline_leaves_the_cluster_failed_and_a_later_available_recovers_it()
    {
        var create = _machine.BeginCreate("c1", 3, TimeSpan.FromMilliseconds(50), deleteOnTimeout: false);
        _machine.Observe("c1", Deployments.Make(available: 1, total: 3), 3);
        var outcome = await _machine.WaitAsync(create.Outcome!, Long, default);
        Assert.Equal(OutcomeCode.DeadlineExceeded, outcome.Code);
        Assert.Equal(ClusterPhase.Failed, outcome.Status.Phase);
        Assert.Equal("DeadlineExceeded", outcome.Status.Reason);
        Assert.Contains("1/3 replicas available", outcome.Status.Message, StringComparison.Ordinal);

        var repeat = _machine.BeginCreate("c1", 3, Long, false);
        Assert.Equal(CreateAction.Done, repeat.Action);
        Assert.Equal(OutcomeCode.Failed, (await repeat.Outcome!).Code);

        _machine.Observe("c1", Deployments.Available(), 3);
        Assert.Equal(ClusterPhase.Available, _machine.Get("c1")!.Phase);
    }

    [Fact]
    public async Task Deadline_with_delete_asks_for_deletion()
    {
        var requested = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _machine.DeleteRequested += name => requested.TrySetResult(name);
        var create = _machine.BeginCreate("c1", 3, TimeSpan.FromMilliseconds(50), deleteOnTimeout: true);
        var outcome = await create.Outcome!;
        Assert.Equal(OutcomeCode.DeadlineExceeded, outcome.Code);
        Assert.Equal(ClusterPhase.DeleteInProgress, outcome.Status.Phase);
        Assert.Equal("c1", await requested.Task.WaitAsync(Long));
    }

    [Theory]
    [InlineData(true, ClusterPhase.DeleteInProgress)]
    [InlineData(false, ClusterPhase.Failed)]
    public async Task A_deadline_stored_on_the_deployment_is_enforced_by_a_machine_that_did_not_create_it(bool delete, ClusterPhase expected)
    {
        var requested = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _machine.DeleteRequested += name => requested.TrySetResult(name);
        var deadline = CreateDeadline.After(DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(50), delete);
        _machine.Observe("c1", Deployments.Make(available: 1, total: 3, annotations: deadline.ToAnnotations()), 3);
        Assert.Equal(ClusterPhase.CreateInProgress, _machine.Get("c1")!.Phase);

        await Eventually.UntilAsync(() => _machine.Get("c1")!.Phase == expected, "the stored deadline passed");
        var status = _machine.Get("c1")!;
        Assert.Equal("DeadlineExceeded", status.Reason);
        Assert.Contains("not available after 0.05s (1/3 replicas available", status.Message, StringComparison.Ordinal);
        Assert.Equal(delete, _machine.IsDeleteDue("c1"));
        Assert.Equal(delete, requested.Task.IsCompleted);
        if (delete)
        {
            _machine.Observe("c1", Deployments.Make(available: 1, total: 3, deleting: true, annotations: deadline.ToAnnotations()), 3);
            Assert.False(_machine.IsDeleteDue("c1"));
        }
    }

    [Fact]
    public void A_deadline_stored_on_the_deployment_no_longer_applies_once_it_was_available()
    {
        var passed = CreateDeadline.After(DateTimeOffset.UtcNow - Long, TimeSpan.FromSeconds(1), deleteOnTimeout: true);
        _machine.Observe("c1", Deployments.Available(), 3);
        _machine.Observe("c1", Deployments.Make(available: 2, total: 3, annotations: passed.ToAnnotations()), 3);
        Assert.Equal(ClusterPhase.CreateInProgress, _machine.Get("c1")!.Phase);
        Assert.False(_machine.IsDeleteDue("c1"));
    }

    [Fact]
    public async Task A_deadline_that_passed_before_the_deployment_was_seen_fires_at_once()
    {
        var passed = CreateDeadline.After(DateTimeOffset.UtcNow - Long, TimeSpan.FromSeconds(1), deleteOnTimeout: true);
        _machine.Observe("c1", Deployments.Make(available: 0, total: 3, annotations: passed.ToAnnotations()), 3);
        await Eventually.UntilAsync(() => _machine.IsDeleteDue("c1"), "the passed deadline asked for a delete");
        Assert.Equal(ClusterPhase.DeleteInProgress, _machine.Get("c1")!.Phase);
    }

    [Fact]
    public async Task A_create_that_joins_a_deployment_without_a_stored_deadline_never_deletes_it()
    {
        _machine.Observe("c1", Deployments.Make(available: 1, total: 3), 3);
        var create = _machine.BeginCreate("c1", 3, TimeSpan.FromMilliseconds(50), deleteOnTimeout: true);
        Assert.Equal(CreateAction.Wait, create.Action);
        var outcome = await _machine.WaitAsync(create.Outcome!, Long, default);
        Assert.Equal(OutcomeCode.DeadlineExceeded, outcome.Code);
        Assert.Equal(ClusterPhase.Failed, outcome.Status.Phase);
        Assert.False(_machine.IsDeleteDue("c1"));
    }

    [Fact]
    public async Task No_wait_caller_cancellation_leaves_no_waiter()
    {
        var create = _machine.BeginCreate("c1", 3, Long, false);
        using var cts = new CancellationTokenSource();
        var waiter = _machine.WaitAsync(create.Outcome!, Long, cts.Token);
        Assert.Equal(1, _machine.ActiveWaiters);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter);
        Assert.Equal(0, _machine.ActiveWaiters);
        Assert.Equal(1, _machine.ActiveOperations);
        _machine.BeginDelete("c1");
        _machine.Observe("c1", null, 0);
        Assert.Equal(0, _machine.ActiveOperations);
    }

    [Fact]
    public void Restart_rebuilds_state_from_observed_deployments()
    {
        _machine.Observe("a", Deployments.Available(), 3);
        _machine.Observe("b", Deployments.Make(available: 1, total: 3), 3);
        _machine.Observe("c", Deployments.Make(deleting: true), 1);
        _machine.Observe("d", Deployments.Make(progressing: "deadline"), 1);
        Assert.Equal(
            [("a", ClusterPhase.Available), ("b", ClusterPhase.CreateInProgress), ("c", ClusterPhase.DeleteInProgress), ("d", ClusterPhase.Failed)],
            _machine.List().Select(s => (s.Name, s.Phase)));

        // A create repeated after the restart waits on the rebuilt cluster rather than creating it again.
        var repeat = _machine.BeginCreate("b", 3, Long, false);
        Assert.Equal(CreateAction.Wait, repeat.Action);
        // A Deployment already being deleted is joined, not deleted again.
        Assert.Equal(DeleteAction.Wait, _machine.BeginDelete("c").Action);
        Assert.Equal(DeleteAction.DeleteDeployment, _machine.BeginDelete("a").Action);
    }

    [Fact]
    public async Task Subscription_streams_changes_and_ends_when_the_cluster_is_gone()
    {
        _machine.BeginCreate("c1", 3, Long, false);
        using var subscription = _machine.Subscribe("c1")!;
        Assert.Equal(1, _machine.ActiveSubscriptions);
        _machine.Observe("c1", Deployments.Available(), 3);
        _machine.BeginDelete("c1");
        _machine.Observe("c1", null, 0);

        var phases = new List<ClusterPhase>();
        await foreach (var status in subscription.Reader.ReadAllAsync())
        {
            phases.Add(status.Phase);
        }

        Assert.Equal(ClusterPhase.CreateInProgress, phases[0]);
        Assert.Contains(ClusterPhase.Available, phases);
        Assert.Equal(ClusterPhase.DeleteInProgress, phases[^1]);
        subscription.Dispose();
        Assert.Equal(0, _machine.ActiveSubscriptions);
        Assert.Null(_machine.Subscribe("c1"));
    }

    [Fact]
    public async Task Create_rejected_by_kubernetes_fails_waiters_and_forgets_the_cluster()
    {
        var create = _machine.BeginCreate("c1", 3, Long, false);
        _machine.CreateFailed("c1", "CreateRejected", "invalid image");
        Assert.Equal(OutcomeCode.Failed, (await create.Outcome!).Code);
        Assert.Null(_machine.Get("c1"));
        Assert.Equal(0, _machine.ActiveOperations);
    }

    [Fact]
    public async Task Deployment_removed_by_someone_else_aborts_the_create()
    {
        var create = _machine.BeginCreate("c1", 3, Long, false);
        _machine.Observe("c1", Deployments.Make(available: 0, total: 3), 0);
        _machine.Observe("c1", null, 0);
        Assert.Equal(OutcomeCode.Aborted, (await create.Outcome!).Code);
        Assert.Null(_machine.Get("c1"));
    }
}
