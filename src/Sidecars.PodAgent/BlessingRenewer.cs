using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Sidecars.AgentLifecycle;
using Sidecars.Contracts.V1;
using Sidecars.Observability;

namespace Sidecars.PodAgent;

/// <summary>Why the agent stopped holding blessings for good.</summary>
internal enum RenewalOutcome
{
    Stopped,
    SecretRevoked,
    Rejected,
}

/// <summary>
/// Obtains the replica's blessing and renews it at a fraction of its lifetime, retrying transient failures
/// with backoff. A refused secret ends the loop: the agent must not keep an identity that was revoked.
/// </summary>
internal sealed partial class BlessingRenewer
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    private readonly Identity.IdentityClient _client;
    private readonly BlessingHolder _holder;
    private readonly PodAgentOptions _options;
    private readonly string _secret;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public BlessingRenewer(Identity.IdentityClient client, BlessingHolder holder, PodAgentOptions options, string secret, TimeProvider time, ILogger logger)
    {
        _client = client;
        _holder = holder;
        _options = options;
        _secret = secret;
        _time = time;
        _logger = logger;
    }

    /// <summary>The message explaining a non-<see cref="RenewalOutcome.Stopped"/> outcome.</summary>
    public string? FailureMessage { get; private set; }

    public async Task<RenewalOutcome> RunAsync(CancellationToken cancellationToken)
    {
        var renewal = false;
        try
        {
            while (true)
            {
                var outcome = await SeekWithRetryAsync(renewal, cancellationToken);
                if (outcome is not null)
                {
                    return outcome.Value;
                }

                var blessing = _holder.Current!;
                var issued = _time.GetUtcNow();
                var lifetime = blessing.NotAfter.ToDateTimeOffset() - issued;
                var wait = lifetime * _options.RenewAt;
                if (wait < TimeSpan.Zero)
                {
                    wait = TimeSpan.Zero;
                }

                LogHolding(blessing.Name, blessing.NotAfter.ToDateTimeOffset());

                // Nothing more happens here until the renewal: give what starting up, the TLS handshake and the
                // issuance left resident back to the OS (heap, malloc, start-up code), so the sidecar idles small in every pod.
                var unmapped = ProcessMemory.ReturnAll();
                if (!renewal)
                {
                    LogMemoryReturned(unmapped / (1024 * 1024), FilePages.Faults);
                }

                await Task.Delay(wait, _time, cancellationToken);
                renewal = true;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return RenewalOutcome.Stopped;
        }
    }

    private async Task<RenewalOutcome?> SeekWithRetryAsync(bool renewal, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                var response = await _client.SeekBlessingsAsync(
                    new SeekBlessingsRequest
                    {
                        Secret = _secret,
                        PublicKey = ByteString.CopyFrom(_holder.PublicKey),
                        Replica = _options.PodName,
                        Renewal = renewal,
                        PodToken = await ReadPodTokenAsync(cancellationToken),
                    },
                    deadline: DateTime.UtcNow.AddSeconds(10),
                    cancellationToken: cancellationToken);
                var roots = await _client.GetTrustRootsAsync(new GetTrustRootsRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
                CheckExpectedBlessing(response.Blessing.Name);
                _holder.Set(response.Blessing, roots);
                (renewal ? PodAgentMetrics.Renewals : PodAgentMetrics.Issuances).Inc();
                return null;
            }
            catch (RpcException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.PermissionDenied)
            {
                PodAgentMetrics.Failures.WithLabels("revoked").Inc();
                FailureMessage = $"the cluster agent refused the secret in {_options.SecretFile}: {e.Status.Detail}";
                return RenewalOutcome.SecretRevoked;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
            {
                PodAgentMetrics.Failures.WithLabels("unauthenticated").Inc();
                FailureMessage = $"the cluster agent did not accept the pod token in {_options.PodTokenFile}: {e.Status.Detail}";
                return RenewalOutcome.Rejected;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
            {
                PodAgentMetrics.Failures.WithLabels("rejected").Inc();
                FailureMessage = $"the cluster agent rejected the request: {e.Status.Detail}";
                return RenewalOutcome.Rejected;
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                PodAgentMetrics.Failures.WithLabels(e.StatusCode == StatusCode.FailedPrecondition ? "not_claimed" : "unavailable").Inc();
                LogRetrying(e.StatusCode, e.Status.Detail, backoff);
            }

            await Task.Delay(backoff, _time, cancellationToken);
            backoff = backoff * 2 > MaxBackoff ? MaxBackoff : backoff * 2;
        }
    }

    private async Task<string> ReadPodTokenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await File.ReadAllTextAsync(_options.PodTokenFile, cancellationToken)).Trim();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // Without a token only a cluster agent that attests by secret alone issues; the refusal says so.
            return "";
        }
    }

    private void CheckExpectedBlessing(string name)
    {
        if (!string.IsNullOrEmpty(_options.Blessing)
            && !name.EndsWith(":" + _options.Blessing + ":" + _options.PodName, StringComparison.Ordinal))
        {
            LogUnexpectedBlessing(name, _options.Blessing);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Holding blessing {Blessing} until {NotAfter:O}")]
    private partial void LogHolding(string blessing, DateTimeOffset notAfter);

    [LoggerMessage(4, LogLevel.Information, "Start-up memory returned: {Unmapped} MiB of code pages unmapped; a fault maps back {Faults}")]
    private partial void LogMemoryReturned(long unmapped, string faults);

    [LoggerMessage(2, LogLevel.Warning, "SeekBlessings failed ({Code}: {Detail}); retrying in {Backoff}")]
    private partial void LogRetrying(StatusCode code, string detail, TimeSpan backoff);

    [LoggerMessage(3, LogLevel.Warning, "Received blessing {Blessing}, which does not carry the expected extension {Expected}")]
    private partial void LogUnexpectedBlessing(string blessing, string expected);
}
