using System.Buffers;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Conventions;
using Sidecars.Mutation;

namespace Sidecars.Webhook.Hosting;

/// <summary>
/// Runs representative reviews through the codec and the engine before the replica reports ready, so the first review
/// the apiserver sends to a new replica in a rolling update does not pay for compiling the admission path (seconds on a
/// starved node, against the apiserver's timeout of a few seconds). Nothing is counted in the admission metrics.
/// </summary>
public sealed partial class AdmissionWarmup(MutationEngine engine, IOptions<InjectionOptions> options, ILogger<AdmissionWarmup> logger) : IHostedService, IHealthCheck
{
    /// <summary>Reviews run per sample: enough for the runtime to settle the path, few enough to take milliseconds.</summary>
    public const int Rounds = 3;

    private static readonly IReadOnlyDictionary<string, string> EnabledNamespace =
        new Dictionary<string, string>(StringComparer.Ordinal) { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled };

    private readonly TaskCompletionSource<string?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the warm-up has run; its result is the failure, or null.</summary>
    public Task<string?> Completion => _done.Task;

    /// <summary>The outcomes of the last round, one per sample review.</summary>
    public IReadOnlyList<AdmissionOutcome> Outcomes { get; private set; } = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = Task.Run(Run, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_done.Task.IsCompletedSuccessfully
            ? _done.Task.Result is { } failure
                ? HealthCheckResult.Unhealthy($"the admission path failed on a sample review: {failure}")
                : HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("warming up the admission path"));

    private void Run()
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var output = new ArrayBufferWriter<byte>();
            var samples = Samples(options.Value.VolumeName).ToList();
            for (var round = 0; round < Rounds; round++)
            {
                var outcomes = new List<AdmissionOutcome>(samples.Count);
                foreach (var review in samples)
                {
                    if (!AdmissionReviewCodec.TryRead(review, out var input, out var error, out var document))
                    {
                        throw new InvalidOperationException($"sample review unreadable: {error}");
                    }

                    using (document)
                    {
                        var decision = engine.Decide(input with { NamespaceLabels = EnabledNamespace });
                        output.ResetWrittenCount();
                        AdmissionReviewCodec.WriteResponse(output, input.Uid, decision);
                        outcomes.Add(decision.Outcome);
                    }
                }

                Outcomes = outcomes;
            }

            Log.WarmedUp(logger, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            _done.TrySetResult(null);
        }
#pragma warning disable CA1031 // Reported through readiness and the log: a replica that cannot decide a sample must not take traffic.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.Failed(logger, e);
            _done.TrySetResult(e.Message);
        }
    }

    /// <summary>A pod asking for both sidecars, with settings and the data volume, and a pod that opts out.</summary>
    private static IEnumerable<ReadOnlyMemory<byte>> Samples(string dataVolume)
    {
        yield return Review("warm-up-1", $$$"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"warm-up-","labels":{"{{{SidecarsLabels.NetworkId}}}":"warm-up"},
             "annotations":{"{{{SidecarsAnnotations.Blessing}}}":"warm-up","{{{SidecarsAnnotations.Settings}}}":"{\"app\":{\"WARM\":\"up\"}}"}},
             "spec":{"containers":[{"name":"app","image":"LOCALREGISTRY/warm-up:1","ports":[{"containerPort":8080}],
             "volumeMounts":[{"name":"{{{dataVolume}}}","mountPath":"/data"}]}],"volumes":[{"name":"{{{dataVolume}}}","emptyDir":{}}]}}
            """);
        yield return Review("warm-up-2", $$$"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"warm-up","annotations":{"{{{SidecarsAnnotations.Inject}}}":"false"}},
             "spec":{"containers":[{"name":"app","image":"registry.local/warm-up:1"}]}}
            """);
    }

    private static ReadOnlyMemory<byte> Review(string uid, string pod) => Encoding.UTF8.GetBytes($$$"""
        {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"{{{uid}}}",
         "kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
         "requestKind":{"group":"","version":"v1","kind":"Pod"},"requestResource":{"group":"","version":"v1","resource":"pods"},
         "namespace":"sidecars-warm-up","operation":"CREATE","userInfo":{"username":"system:serviceaccount:sidecars-warm-up:default",
         "groups":["system:serviceaccounts","system:authenticated"]},"object":{{{pod}}},"oldObject":null,"dryRun":false,
         "options":{"apiVersion":"meta.k8s.io/v1","kind":"CreateOptions"} } }
        """);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Admission path warmed up in {Milliseconds:0} ms")]
        public static partial void WarmedUp(ILogger logger, double milliseconds);

        [LoggerMessage(2, LogLevel.Error, "The admission path failed on a sample review; this replica stays unready")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
