using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Mutation;
using Sidecars.Webhook.Metrics;

namespace Sidecars.Webhook.Admission;

/// <summary>
/// Serves one AdmissionReview: reads a bounded body, asks the mutation engine, answers. Never throws to the caller:
/// unreadable requests get a 4xx with the reason; a failure of the webhook itself gets a 500 (so the webhook's
/// failurePolicy decides), counted with outcome <c>error</c> and logged as an error.
/// </summary>
public sealed partial class AdmissionHandler(
    MutationEngine engine,
    AdmissionGate gate,
    INamespaceLabelSource namespaces,
    ApiServerClients clients,
    IOptions<WebhookOptions> options,
    ILogger<AdmissionHandler> logger)
{
    /// <summary>Outcome label of a request the webhook failed on (answered 500).</summary>
    public const string ErrorOutcome = "error";

    /// <summary>Reason label of a request the engine or the namespace lookup threw on.</summary>
    public const string InternalErrorReason = "internal-error";

    private readonly long _maxBytes = options.Value.MaxRequestBytes;
    private readonly TimeSpan _bodyTimeout = options.Value.BodyTimeout;

    // The labelled series each review records, looked up once per label set instead of on every review: outcomes and
    // reasons are a few dozen constants.
    private readonly ConcurrentDictionary<string, Prometheus.Histogram.Child> _durations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Outcome, string Reason), Prometheus.Counter.Child> _requests = new();
    private readonly ConcurrentDictionary<string, Prometheus.Counter.Child> _injected = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Prometheus.Counter.Child> _rewrites = new(StringComparer.Ordinal);

    public async Task HandleAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = await HandleCoreAsync(context);
        _durations.GetOrAdd(outcome, static o => WebhookMetrics.AdmissionDuration.WithLabels(o))
            .Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    private void Count(string outcome, string reason) =>
        _requests.GetOrAdd((outcome, reason), static key => WebhookMetrics.AdmissionRequests.WithLabels(key.Outcome, key.Reason)).Inc();

    private async Task<string> HandleCoreAsync(HttpContext context)
    {
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        if (!clients.Allows(context.Connection.ClientCertificate, out var refusal))
        {
            return await RejectAsync(context, StatusCodes.Status401Unauthorized, "unauthenticated-client", refusal);
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            return await RejectAsync(context, StatusCodes.Status405MethodNotAllowed, "method-not-allowed", "admission reviews are POSTed");
        }

        if (request.ContentType is not { } contentType || !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return await RejectAsync(context, StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "content type must be application/json");
        }

        if (request.ContentLength > _maxBytes)
        {
            return await RejectAsync(context, StatusCodes.Status413PayloadTooLarge, "body-too-large", $"body exceeds {_maxBytes} bytes");
        }

        using var permit = await gate.EnterAsync(cancellationToken);
        // The body arrives within its deadline, or the review is refused: a client trickling its body must not hold
        // one of the gate's few slots (the apiserver sends a review at once).
        using var bodyDeadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bodyDeadline.CancelAfter(_bodyTimeout);
        if (permit is null)
        {
            // Counted and logged (at most once a second) by the gate: a line per refusal would feed the overload. The
            // body is read to its end first: an HTTP/2 stream answered before its request ended is reset and kept for
            // a grace period, and many such streams make Kestrel refuse the client's next streams (ENHANCE_YOUR_CALM)
            // with no answer at all.
            try
            {
                await DrainAsync(request, bodyDeadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Answered all the same; Kestrel resets the stream whose body never ended.
            }

            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "1";
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(gate.RefusalMessage, cancellationToken);
            return "rejected";
        }

        BoundedBody? body;
        try
        {
            body = await BoundedBody.ReadAsync(request.Body, _maxBytes, bodyDeadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return await RejectAsync(context, StatusCodes.Status408RequestTimeout, "body-timeout",
                $"the body did not arrive within {_bodyTimeout.TotalMilliseconds:0} ms");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // Kestrel's own limit fired first on a chunked body.
            body = null;
        }

        if (body is null)
        {
            return await RejectAsync(context, StatusCodes.Status413PayloadTooLarge, "body-too-large", $"body exceeds {_maxBytes} bytes");
        }

        IDisposable? document = null;
        try
        {
            if (!AdmissionReviewCodec.TryRead(body.Memory, out var input, out var error, out document))
            {
                return await RejectAsync(context, StatusCodes.Status400BadRequest, "malformed-review", error);
            }

            AdmissionDecision decision;
            try
            {
                var labels = await namespaces.GetLabelsAsync(input.Namespace, cancellationToken);
                decision = engine.Decide(input with { NamespaceLabels = labels });
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // A defect, not a verdict on the object: answer 500 so the apiserver applies the webhook's
                // failurePolicy (a fail-closed namespace refuses the pod) instead of admitting it unmutated.
                Count(ErrorOutcome, InternalErrorReason);
                Log.Failed(logger, e, input.Kind.Kind, input.Namespace, input.Name ?? "(generated)", input.Operation, input.Uid);
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync($"{InternalErrorReason}: the webhook could not decide this request (see its log)\n", cancellationToken);
                return ErrorOutcome;
            }

            Record(input, decision);
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json";
            AdmissionReviewCodec.WriteResponse(context.Response.BodyWriter, input.Uid, decision);
            return OutcomeLabel(decision.Outcome);
        }
        finally
        {
            // The parsed review points into the body's pooled buffer: release the index first, then the buffer.
            document?.Dispose();
            body.Dispose();
        }
    }

    /// <summary>Reads the request body to its end without copying it anywhere (Kestrel's own buffers only).</summary>
    private static async Task DrainAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var reader = request.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken);
            reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted || read.IsCanceled)
            {
                return;
            }
        }
    }

    private void Record(AdmissionInput input, AdmissionDecision decision)
    {
        var outcome = OutcomeLabel(decision.Outcome);
        Count(outcome, PrimaryReason(decision.Reasons));
        foreach (var (kind, count) in decision.Injected)
        {
            _injected.GetOrAdd(kind, static k => WebhookMetrics.SidecarsInjected.WithLabels(k)).Inc(count);
        }

        foreach (var (kind, count) in decision.Rewrites)
        {
            _rewrites.GetOrAdd(kind, static k => WebhookMetrics.Rewrites.WithLabels(k)).Inc(count);
        }

        // Debug, not Information: a line per review costs a busy webhook a third of its throughput, and the decision is
        // already in the metrics by reason, in the admission warnings kubectl prints, and in `sidecarsctl explain`.
        if (logger.IsEnabled(LogLevel.Debug))
        {
            Log.Decided(logger, input.Kind.Kind, input.Namespace, input.Name ?? "(generated)", input.Operation, outcome,
                string.Join("; ", decision.Reasons.Select(r => $"{r.Feature}: {r.Message}")));
        }
    }

    /// <summary>The first applied reason, else the first one: the reason label of the review.</summary>
    private static string PrimaryReason(IReadOnlyList<DecisionReason> reasons)
    {
        foreach (var reason in reasons)
        {
            if (reason.Applied)
            {
                return reason.Code;
            }
        }

        return reasons.Count > 0 ? reasons[0].Code : "none";
    }

    private async Task<string> RejectAsync(HttpContext context, int status, string reason, string message)
    {
        Count("rejected", reason);
        Log.Rejected(logger, status, reason, message);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync($"{reason}: {message}\n", context.RequestAborted);
        return "rejected";
    }

    private static string OutcomeLabel(AdmissionOutcome outcome) => outcome switch
    {
        AdmissionOutcome.Mutated => "mutated",
        AdmissionOutcome.Unchanged => "unchanged",
        AdmissionOutcome.Skipped => "skipped",
        AdmissionOutcome.Denied => "denied",
        _ => "unknown",
    };

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "{Kind} {Namespace}/{Name} {Operation}: {Outcome} ({Reasons})")]
        public static partial void Decided(ILogger logger, string kind, string @namespace, string name, string operation, string outcome, string reasons);

        [LoggerMessage(2, LogLevel.Warning, "Rejected admission request with {Status} {Reason}: {Message}")]
        public static partial void Rejected(ILogger logger, int status, string reason, string message);

        [LoggerMessage(3, LogLevel.Error, "Failed to decide {Kind} {Namespace}/{Name} {Operation} (request {Uid}); answered 500")]
        public static partial void Failed(ILogger logger, Exception exception, string kind, string @namespace, string name, string operation, string uid);
    }
}
