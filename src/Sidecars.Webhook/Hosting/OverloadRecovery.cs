using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Observability;
using Sidecars.Webhook.Admission;

namespace Sidecars.Webhook.Hosting;

/// <summary>
/// Hands back the memory an overload took. While reviews pile up, the runtime grows its heap and thread pool to hold
/// them, and every thread that ran TLS grows a malloc arena; once nothing has been refused for
/// <see cref="WebhookOptions.OverloadQuietPeriod"/>, <see cref="ProcessMemory.Return"/> hands the heap's and the arenas'
/// free space back to the operating system, so that a burst does not leave the replica at its
/// high-water mark (and nearer its memory limit) for the rest of its life. Nothing runs while the webhook is not refusing.
/// </summary>
public sealed partial class OverloadRecovery(AdmissionGate gate, IOptions<WebhookOptions> options, TimeProvider time, ILogger<OverloadRecovery> logger)
    : BackgroundService
{
    /// <summary>Overloads that ended, each followed by one collection.</summary>
    public int Recoveries => Volatile.Read(ref _recoveries);

    private int _recoveries;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var quiet = options.Value.OverloadQuietPeriod;
        if (quiet <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await gate.WaitForRefusalAsync(stoppingToken);
                var started = time.GetTimestamp();
                var refusedAtStart = gate.Refused - 1;
                for (var seen = -1L; seen != gate.Refused;)
                {
                    seen = gate.Refused;
                    await Task.Delay(quiet, time, stoppingToken);
                }

                // Refusals during the quiet period were waited out above; drop the signal they left behind.
                gate.ClearRefusalSignal();

                var before = Environment.WorkingSet;
                ProcessMemory.ReturnAll();
                using (var self = Process.GetCurrentProcess())
                {
                    self.Refresh();
                    Log.Recovered(logger, gate.Refused - refusedAtStart, time.GetElapsedTime(started).TotalSeconds, before / (1024 * 1024), self.WorkingSet64 / (1024 * 1024));
                }

                Interlocked.Increment(ref _recoveries);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Overload over: {Refused} admission reviews refused in {Seconds:0.0} s; memory returned after it, resident {Before} MiB -> {After} MiB")]
        public static partial void Recovered(ILogger logger, long refused, double seconds, long before, long after);
    }
}
