using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sidecars.Observability;
using Sidecars.Webhook.Admission;

namespace Sidecars.Webhook.Hosting;

/// <summary>
/// Gives back what starting up left resident once the replica is ready (serving, the admission path warmed up, the
/// namespace cache listed): the heap's and malloc's free space (<see cref="ProcessMemory"/>) and, published NativeAOT,
/// its mappings of start-up code, after which a fault maps only the page a review runs (<see cref="FilePages"/>).
/// Starting up touches most of the binary; reviews run a fraction of it. Runs once; a replica that failed its warm-up
/// stays as it is.
/// </summary>
public sealed partial class StartupMemoryRelease(
    AdmissionWarmup warmup, IHostApplicationLifetime lifetime, INamespaceLabelSource namespaces, ILogger<StartupMemoryRelease> logger)
    : BackgroundService
{
    private readonly TaskCompletionSource<long> _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the bytes of file pages unmapped (0 under a JIT runtime) once the release ran.</summary>
    public Task<long> Released => _released.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(stoppingToken);
            }

            if (await warmup.Completion.WaitAsync(stoppingToken) is not null)
            {
                return;
            }

            if (namespaces is NamespaceLabelCache cache)
            {
                await cache.WaitForSyncAsync(stoppingToken);
            }

            var before = Environment.WorkingSet;
            var unmapped = ProcessMemory.ReturnAll();
            Log.Released(logger, before / (1024 * 1024), Environment.WorkingSet / (1024 * 1024), unmapped / (1024 * 1024), FilePages.Faults);
            _released.TrySetResult(unmapped);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _released.TrySetCanceled(stoppingToken);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Ready: start-up memory returned, resident {Before} MiB -> {After} MiB ({Unmapped} MiB of file pages unmapped; a fault maps back {Faults})")]
        public static partial void Released(ILogger logger, long before, long after, long unmapped, string faults);
    }
}
