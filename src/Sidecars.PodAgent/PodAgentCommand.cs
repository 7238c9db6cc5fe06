using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;
using Sidecars.AgentLifecycle;
using Sidecars.Contracts.V1;
using Sidecars.PodAgent.Lifecycle;
using Sidecars.PodAgent.Tokens;

namespace Sidecars.PodAgent;

/// <summary>Entry point of <c>sidecars-agent pod-agent</c>.</summary>
public static class PodAgentCommand
{
    public const int ExitOk = 0;
    public const int ExitUsage = 2;
    public const int ExitSecretMissing = 3;
    public const int ExitSecretRevoked = 4;
    public const int ExitRejected = 5;
    public const int ExitNotReady = 6;

    public static Task<int> RunAsync(string[] args, CancellationToken cancellationToken) =>
        RunAsync(args, Environment.GetEnvironmentVariable, Console.Error, cancellationToken);

    public static async Task<int> RunAsync(string[] args, Func<string, string?> environment, TextWriter error, CancellationToken cancellationToken)
    {
        if (!PodAgentOptionsParser.TryParse(args, environment, out var options, out var problem))
        {
            await error.WriteLineAsync($"pod-agent: {problem}\n{PodAgentOptionsParser.Usage}");
            return ExitUsage;
        }

        if (!PodAgentLifecycle.TryResolve(options!, environment, out var appsDone, out problem))
        {
            // Not fatal: exiting early would fail the Job's pod although its apps may succeed.
            await error.WriteLineAsync($"pod-agent: {problem}; running until stopped");
        }

        return options!.WaitReady
            ? await WaitReadyAsync(options, error, cancellationToken)
            : options.TokensOnly
                ? await TokensOnlyAgent.RunAsync(options, appsDone, error, cancellationToken)
                : await ServeAsync(options, appsDone, error, cancellationToken);
    }

    private static async Task<int> ServeAsync(PodAgentOptions options, AppsDoneSettings? appsDone, TextWriter error, CancellationToken cancellationToken)
    {
        var secret = await ReadSecretAsync(options.SecretFile, cancellationToken);
        if (secret is null)
        {
            await error.WriteLineAsync(
                $"pod-agent: no secret in {options.SecretFile}: the Kubernetes Secret named by annotation sidecars.io/blessing-secret " +
                "(default sidecars-<blessing>) must exist with key 'secret'; create it with 'sidecarsctl app start'");
            return ExitSecretMissing;
        }

        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressEventCounters = true,
            SuppressMeters = true,
            SuppressDebugMetrics = true,
        });

        using var holder = new BlessingHolder(TimeProvider.System);
        DeleteStaleSocket(options.Socket);
        await using var app = PodAgentServer.Build(options, holder);
        await app.StartAsync(cancellationToken);
        using var releases = IdleMemory.ReleaseAfterBursts(TimeProvider.System, IdleMemory.BurstPeriod);
        if (!OperatingSystem.IsWindows())
        {
            // Apps in other containers of the pod may run as other users.
            File.SetUnixFileMode(options.Socket, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead
            | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Sidecars.PodAgent");
        using var channel = ClusterAgentChannel.Create(options, logger);
        var renewer = new BlessingRenewer(new Identity.IdentityClient(channel), holder, options, secret, TimeProvider.System, logger);
        await using var tlsExport = TlsExporter.Start(options.TlsDirectory, holder, logger);
        // The stop signal reaches the host (SIGTERM from the kubelet) or the caller's token, whichever comes first.
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
        RenewalOutcome outcome;
        await using (PodAgentLifecycle.Start(appsDone, lifetime, logger))
        {
            outcome = await renewer.RunAsync(lifetime.Token);
        }

        using (var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await app.StopAsync(grace.Token);
        }

        DeleteStaleSocket(options.Socket);
        switch (outcome)
        {
            case RenewalOutcome.SecretRevoked:
                await error.WriteLineAsync("pod-agent: " + renewer.FailureMessage + "; the application's secret was revoked or never issued");
                return ExitSecretRevoked;
            case RenewalOutcome.Rejected:
                await error.WriteLineAsync("pod-agent: " + renewer.FailureMessage);
                return ExitRejected;
            default:
                return ExitOk;
        }
    }

    private static async Task<int> WaitReadyAsync(PodAgentOptions options, TextWriter error, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.WaitTimeout);
        var lastProblem = "the socket does not exist yet";
        while (!timeout.IsCancellationRequested)
        {
            if (File.Exists(options.Socket))
            {
                using var channel = PodAgentSocket.CreateChannel(options.Socket);
                try
                {
                    await new Contracts.V1.PodAgent.PodAgentClient(channel).GetBlessingsAsync(
                        new GetBlessingsRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: timeout.Token);
                    return ExitOk;
                }
                catch (RpcException e)
                {
                    lastProblem = e.Status.Detail;
                }
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), timeout.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await error.WriteLineAsync($"pod-agent: {options.Socket} did not serve blessings within {options.WaitTimeout.TotalSeconds:0}s: {lastProblem}");
        return ExitNotReady;
    }

    private static async Task<string?> ReadSecretAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            var text = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
            return text.Length == 0 ? null : text;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void DeleteStaleSocket(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }
}
