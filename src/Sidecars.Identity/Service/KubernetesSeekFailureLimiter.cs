using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Conventions;

namespace Sidecars.Identity.Service;

/// <summary>
/// The failure budget shared by every replica: each caller's tat (<see cref="SeekFailureBudget"/>, Unix milliseconds)
/// in the ConfigMap <see cref="ConfigMapName"/> of the identity namespace. A failure is a read and a replace on the
/// resourceVersion read (retried on 409), so failures counted by two replicas at once are both counted; a check is a
/// read, so a caller refused by one replica is refused by all. A caller known to be refused is refused without a read
/// until its time is up (its tat only grows). Spent entries are dropped at each write.
/// </summary>
public sealed partial class KubernetesSeekFailureLimiter : ISeekFailureLimiter
{
    public const string ConfigMapName = "sidecars-seek-failures";
    private const int Attempts = 5;

    private readonly IKubernetes _client;
    private readonly string _namespace;
    private readonly SeekFailureBudget _budget;
    private readonly TimeProvider _time;
    private readonly ILogger<KubernetesSeekFailureLimiter> _logger;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _blockedUntil = new(StringComparer.Ordinal);

    public KubernetesSeekFailureLimiter(IKubernetes client, IOptions<IdentityOptions> options, TimeProvider time, ILogger<KubernetesSeekFailureLimiter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _namespace = options.Value.Namespace;
        _budget = new SeekFailureBudget(options.Value.FailureBurst, options.Value.FailuresPerSecond);
        _time = time;
        _logger = logger;
    }

    public async ValueTask<bool> IsBlockedAsync(string peer, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_blockedUntil.TryGetValue(peer, out var until))
        {
            if (now < until)
            {
                return true;
            }

            _blockedUntil.TryRemove(peer, out _);
        }

        try
        {
            var tat = Tat(await ReadAsync(cancellationToken), peer);
            return Remember(peer, tat, now);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            // The lookup that follows needs the API server too; refusing everyone while it is away would not protect more.
            Log.ReadFailed(_logger, ConfigMapName, e.Message);
            return false;
        }
    }

    public async Task RecordFailureAsync(string peer, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            try
            {
                var current = await ReadAsync(cancellationToken);
                var now = _time.GetUtcNow();
                var tat = _budget.Spend(Tat(current, peer), now);
                var data = (current?.Data ?? new Dictionary<string, string>())
                    .Where(e => e.Key != Key(peer) && ParseTat(e.Value) is { } t && SeekFailureBudget.IsSpent(t, now))
                    .ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
                data[Key(peer)] = tat.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
                var body = new V1ConfigMap
                {
                    Metadata = new V1ObjectMeta
                    {
                        Name = ConfigMapName,
                        NamespaceProperty = _namespace,
                        ResourceVersion = current?.Metadata.ResourceVersion,
                        Labels = new Dictionary<string, string> { [SidecarsLabels.ManagedBy] = SidecarsLabels.ManagedByValue },
                    },
                    Data = data,
                };
                if (current is null)
                {
                    await _client.CoreV1.CreateNamespacedConfigMapAsync(body, _namespace, cancellationToken: cancellationToken);
                }
                else
                {
                    await _client.CoreV1.ReplaceNamespacedConfigMapAsync(body, ConfigMapName, _namespace, cancellationToken: cancellationToken);
                }

                Remember(peer, tat, now);
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < Attempts)
            {
                // Another replica wrote first: read again and count on top of its write.
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException)
            {
                Log.WriteFailed(_logger, ConfigMapName, e.Message);
                return;
            }
        }
    }

    /// <summary>The ConfigMap key of a peer address (IPv6 colons and zone marks are not allowed in keys).</summary>
    public static string Key(string peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return string.Create(peer.Length, peer, (span, value) =>
        {
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                span[i] = char.IsAsciiLetterOrDigit(c) || c is '.' or '_' ? c : '-';
            }
        });
    }

    private bool Remember(string peer, DateTimeOffset? tat, DateTimeOffset now)
    {
        if (_budget.BlockedUntil(tat, now) is { } until)
        {
            _blockedUntil[peer] = until;
            return true;
        }

        return false;
    }

    private async Task<V1ConfigMap?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _client.CoreV1.ReadNamespacedConfigMapAsync(ConfigMapName, _namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static DateTimeOffset? Tat(V1ConfigMap? map, string peer) =>
        map?.Data is { } data && data.TryGetValue(Key(peer), out var value) ? ParseTat(value) : null;

    private static DateTimeOffset? ParseTat(string value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Reading the SeekBlessings failure budget ({ConfigMap}) failed: {Reason}")]
        public static partial void ReadFailed(ILogger logger, string configMap, string reason);

        [LoggerMessage(2, LogLevel.Warning, "Counting a failed SeekBlessings call in {ConfigMap} failed: {Reason}")]
        public static partial void WriteFailed(ILogger logger, string configMap, string reason);
    }
}
