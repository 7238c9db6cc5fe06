using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Net.Client;
using Sidecars.Contracts.V1;
using Sidecars.Identity.Admin;
using Sidecars.Testing.Hosts;
using static Sidecars.Testing.Identity.SeekRequests;
using IdentityClient = Sidecars.Contracts.V1.Identity.IdentityClient;

namespace Sidecars.Faults.Tests.Identity;

/// <summary>
/// NewSecret, SeekBlessings and ForgetSecret from concurrent callers against a cluster agent process that is killed with
/// SIGKILL and started again while they run. Every call is retried until it has a definitive answer, as a careful caller
/// would; every answer is recorded with when it was asked and answered, and <see cref="Verify"/> checks the history:
/// nothing acknowledged is lost, nothing is half applied, and a retry never does harm.
/// </summary>
internal sealed class SecretChurn
{
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(100);

    private readonly ClusterAgentProcess _agent;
    private readonly int _operations;
    private readonly int _callers;
    private readonly int _kills;
    private readonly ConcurrentBag<TrackedSecret> _secrets = [];
    private readonly ConcurrentBag<SeekRecord> _seeks = [];
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly List<TimeSpan> _recoveries = [];
    private readonly object _gate = new();
    private int _started;
    private int _acknowledged;
    private int _transientErrors;
    private int _unansweredNewSecrets;
    private long _killedAt;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextKillAt;

    public SecretChurn(ClusterAgentProcess agent, int operations, int callers, int kills)
    {
        _agent = agent;
        _operations = operations;
        _callers = callers;
        _kills = kills;
    }

    public const string Root = "fault-root";

    /// <summary>Calls that failed without a definitive answer (the process was gone) and were retried.</summary>
    public int TransientErrors => _transientErrors;

    /// <summary>NewSecret calls that got no answer: each may have stored a secret nobody holds.</summary>
    public int UnansweredNewSecrets => _unansweredNewSecrets;

    /// <summary>Per kill: from SIGKILL to the first call acknowledged by the restarted process.</summary>
    public IReadOnlyList<TimeSpan> Recoveries => _recoveries;

    public IReadOnlyCollection<string> Violations => _violations;

    /// <summary>Secrets that were acknowledged and never forgotten.</summary>
    public int LiveSecrets => _secrets.Count(s => s.ForgottenAt is null);

    public async Task RunAsync(CancellationToken ct)
    {
        using (var channel = AdminChannel())
        {
            await new IdentityClient(channel).ClaimAsync(new ClaimRequest { Blessing = Root }, cancellationToken: ct);
        }

        _nextKillAt = _operations / (_kills + 1);
        var callers = Enumerable.Range(0, _callers).Select(i => Task.Run(() => CallerAsync(i, ct), ct)).ToList();
        var killer = KillerAsync(ct);
        await Task.WhenAll(callers);
        await killer;
    }

    /// <summary>
    /// Kills and restarts the process once more, then checks the history and the restarted process's answers for
    /// every secret ever acknowledged.
    /// </summary>
    public async Task VerifyAsync(CancellationToken ct)
    {
        await _agent.KillAsync();
        await _agent.StartAsync(ct);

        // During the run: a blessing for a secret whose ForgetSecret had been acknowledged before the seek was sent is a
        // half-applied forget; a refusal of a secret nobody had started to forget is a lost secret.
        foreach (var seek in _seeks)
        {
            if (seek.Issued && seek.Secret.ForgottenAt is { } forgotten && seek.SentAt > forgotten)
            {
                _violations.Enqueue($"a blessing of {seek.Secret.Extension} was issued for a seek sent after its ForgetSecret was acknowledged");
            }

            if (!seek.Issued && (seek.Secret.ForgetSentAt is not { } forgetSent || forgetSent > seek.AnsweredAt))
            {
                _violations.Enqueue($"{seek.Secret.Extension} was refused though it had been created and nobody had asked to forget it");
            }
        }

        // After the restart: exactly the acknowledged, unforgotten secrets are usable.
        using var channel = AnonymousChannel();
        var client = new IdentityClient(channel);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        foreach (var secret in _secrets)
        {
            var usable = await SeekOnceAsync(client, secret, key, "after-restart", ct);
            if (secret.ForgottenAt is null && usable is not true)
            {
                _violations.Enqueue($"{secret.Extension}: acknowledged by NewSecret and never forgotten, but refused after the restart");
            }
            else if (secret.ForgottenAt is not null && usable is not false)
            {
                _violations.Enqueue($"{secret.Extension}: ForgetSecret was acknowledged, but the secret still works after the restart");
            }
        }
    }

    /// <summary>An admin channel to the agent, for checks outside the churn.</summary>
    public GrpcChannel AdminChannel() => AdminCredentials.CreateChannel(_agent.Address, _agent.Pki.AdminClient, _agent.Pki.ServerRoots);

    private GrpcChannel AnonymousChannel() => AdminCredentials.CreateChannel(_agent.Address, null, _agent.Pki.ServerRoots);

    private async Task CallerAsync(int caller, CancellationToken ct)
    {
        using var adminChannel = AdminChannel();
        using var anonymousChannel = AnonymousChannel();
        var admin = new IdentityClient(adminChannel);
        var anonymous = new IdentityClient(anonymousChannel);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var random = new Random(caller);
        var created = 0;
        while (Interlocked.Increment(ref _started) <= _operations)
        {
            var live = _secrets.Where(s => s.ForgetSentAt is null).ToList();
            var roll = random.NextDouble();
            if (roll < 0.35 || live.Count < 4)
            {
                await NewSecretAsync(admin, $"c{caller}-s{created++}", ct);
            }
            else if (roll < 0.8)
            {
                // Mostly live secrets, some forgotten ones: those must be refused.
                var all = _secrets.ToList();
                var target = random.NextDouble() < 0.75 ? live[random.Next(live.Count)] : all[random.Next(all.Count)];
                await SeekAsync(anonymous, target, key, $"r{caller}", ct);
            }
            else if (live[random.Next(live.Count)] is var target && target.TryClaimForget())
            {
                await ForgetAsync(admin, target, ct);
            }
            else
            {
                Interlocked.Decrement(ref _started);
            }
        }
    }

    private async Task NewSecretAsync(IdentityClient admin, string extension, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                var response = await admin.NewSecretAsync(new NewSecretRequest { Extension = extension }, deadline: Deadline(), cancellationToken: ct);
                if (response.Blessing != $"{Root}:{extension}")
                {
                    _violations.Enqueue($"NewSecret({extension}) answered blessing {response.Blessing}");
                }

                _secrets.Add(new TrackedSecret(response.Secret, extension));
                Acknowledged();
                return;
            }
            catch (RpcException e) when (IsTransient(e))
            {
                // The answer is lost: a secret may have been stored that nobody holds. The retry asks for a new one.
                Interlocked.Increment(ref _unansweredNewSecrets);
                await TransientAsync(ct);
            }
        }
    }

    private async Task SeekAsync(IdentityClient anonymous, TrackedSecret secret, ECDsa key, string replica, CancellationToken ct)
    {
        while (true)
        {
            var sent = Stopwatch.GetTimestamp();
            try
            {
                var response = await anonymous.SeekBlessingsAsync(Seek(secret.Secret, key, replica), deadline: Deadline(), cancellationToken: ct);
                if (response.Blessing.Name != $"{Root}:{secret.Extension}:{replica}")
                {
                    _violations.Enqueue($"SeekBlessings({secret.Extension}) answered blessing {response.Blessing.Name}");
                }

                _seeks.Add(new SeekRecord(secret, sent, Stopwatch.GetTimestamp(), Issued: true));
                Acknowledged();
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.PermissionDenied)
            {
                _seeks.Add(new SeekRecord(secret, sent, Stopwatch.GetTimestamp(), Issued: false));
                Acknowledged();
                return;
            }
            catch (RpcException e) when (IsTransient(e))
            {
                await TransientAsync(ct);
            }
        }
    }

    private async Task ForgetAsync(IdentityClient admin, TrackedSecret secret, CancellationToken ct)
    {
        var unanswered = false;
        while (true)
        {
            try
            {
                var response = await admin.ForgetSecretAsync(new ForgetSecretRequest { Secret = secret.Secret }, deadline: Deadline(), cancellationToken: ct);
                if (response.Blessing != $"{Root}:{secret.Extension}")
                {
                    _violations.Enqueue($"ForgetSecret({secret.Extension}) answered blessing {response.Blessing}");
                }

                secret.ForgottenAt = Stopwatch.GetTimestamp();
                Acknowledged();
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.PermissionDenied && unanswered)
            {
                // The unanswered attempt had forgotten it: the retry finds it gone, which is the state asked for.
                secret.ForgottenAt = Stopwatch.GetTimestamp();
                Acknowledged();
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.PermissionDenied)
            {
                _violations.Enqueue($"ForgetSecret({secret.Extension}), its first and only forget, was refused as unknown: the secret was lost");
                secret.ForgottenAt = Stopwatch.GetTimestamp();
                return;
            }
            catch (RpcException e) when (IsTransient(e))
            {
                unanswered = true;
                await TransientAsync(ct);
            }
        }
    }

    /// <summary>One seek, no retry beyond transient errors: true when issued, false when refused.</summary>
    private static async Task<bool?> SeekOnceAsync(IdentityClient client, TrackedSecret secret, ECDsa key, string replica, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                await client.SeekBlessingsAsync(Seek(secret.Secret, key, replica), deadline: Deadline(), cancellationToken: ct);
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.PermissionDenied)
            {
                return false;
            }
            catch (RpcException e) when (IsTransient(e))
            {
                await Task.Delay(RetryPause, ct);
            }
        }

        return null;
    }

    private async Task KillerAsync(CancellationToken ct)
    {
        for (var kill = 1; kill <= _kills; kill++)
        {
            Task progress;
            lock (_gate)
            {
                progress = _progress.Task;
            }

            await progress.WaitAsync(ct);

            // Calls of every kind are in flight from every caller: the process dies in the middle of them.
            await _agent.KillAsync();
            Interlocked.Exchange(ref _killedAt, Stopwatch.GetTimestamp());
            await _agent.StartAsync(ct);
            lock (_gate)
            {
                _nextKillAt = _operations * (kill + 1) / (_kills + 1);
                _progress = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    private void Acknowledged()
    {
        var count = Interlocked.Increment(ref _acknowledged);
        lock (_gate)
        {
            if (Interlocked.Read(ref _killedAt) is var killed and not 0)
            {
                _recoveries.Add(Stopwatch.GetElapsedTime(killed));
                Interlocked.Exchange(ref _killedAt, 0);
            }

            if (count >= _nextKillAt)
            {
                _progress.TrySetResult();
            }
        }
    }

    private async Task TransientAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref _transientErrors);
        await Task.Delay(RetryPause, ct);
    }

    private static DateTime Deadline() => DateTime.UtcNow + CallDeadline;

    /// <summary>No definitive answer: the connection broke, nobody listened, or the call outlived its deadline.</summary>
    private static bool IsTransient(RpcException e) =>
        e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Cancelled or StatusCode.Unknown;

    private sealed class TrackedSecret(string secret, string extension)
    {
        private int _forgetClaimed;

        public string Secret { get; } = secret;

        public string Extension { get; } = extension;

        /// <summary>When the (one) forgetting caller first sent ForgetSecret.</summary>
        public long? ForgetSentAt { get; private set; }

        /// <summary>When ForgetSecret was acknowledged (or found already applied by an unanswered attempt).</summary>
        public long? ForgottenAt { get; set; }

        public bool TryClaimForget()
        {
            if (Interlocked.Exchange(ref _forgetClaimed, 1) != 0)
            {
                return false;
            }

            ForgetSentAt = Stopwatch.GetTimestamp();
            return true;
        }
    }

    private sealed record SeekRecord(TrackedSecret Secret, long SentAt, long AnsweredAt, bool Issued);
}
