using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Conventions;
using Sidecars.Kubernetes;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Pods;

namespace Sidecars.UserPods.Tokens;

/// <summary>A pod's collected tokens by copy-token key, and why the others are missing.</summary>
public sealed record PodTokens(IReadOnlyDictionary<string, string> Tokens, IReadOnlyDictionary<string, string> Errors)
{
    public static readonly PodTokens None = new(new Dictionary<string, string>(), new Dictionary<string, string>());
}

/// <summary>
/// Tokens of Ready pods, fetched once and cached in memory and in a Secret per pod (labelled, owned by the pod so it
/// goes with it), so they survive a restart. A token over the byte limit is refused and not cached.
/// </summary>
public sealed partial class TokenCache(
    KubernetesAccess kubernetes, ITokenSource source, RequestWork work, IOptions<UserPodsOptions> options, ILogger<TokenCache> logger)
{
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> _cached = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    private IKubernetes Client => kubernetes.Client;

    /// <summary>
    /// The pod's tokens; with <paramref name="fetchMissing"/>, tokens not yet cached are fetched from a Ready pod.
    /// </summary>
    public async Task<PodTokens> GetAsync(V1Pod pod, bool fetchMissing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var keys = PodState.TokenKeys(pod);
        if (keys.Count == 0)
        {
            return PodTokens.None;
        }

        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var bad in keys.Where(k => !ValidKey().IsMatch(k)))
        {
            errors[bad] = $"'{bad}' is not a valid token key (letters, digits, '.', '_' and '-')";
        }

        var uid = pod.Metadata.Uid;
        var gate = _locks.GetOrAdd(uid, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!_cached.TryGetValue(uid, out var tokens))
            {
                tokens = await LoadAsync(pod, cancellationToken);
                _cached[uid] = tokens;
            }

            var missing = keys.Where(k => !errors.ContainsKey(k) && !tokens.ContainsKey(k)).ToList();
            if (missing.Count > 0 && fetchMissing && PodState.IsReady(pod))
            {
                var limit = options.Value.TokenByteLimit;
                var fetched = await work.AllAsync(
                    missing, async (key, ct) => (Key: key, Result: await source.FetchAsync(pod, key, limit, ct)), cancellationToken);
                var merged = new Dictionary<string, string>(tokens, StringComparer.Ordinal);
                foreach (var (key, result) in fetched)
                {
                    UserPodsMetrics.TokenFetches.WithLabels(result.Value is null ? "refused" : "stored").Inc();
                    if (result.Value is not null)
                    {
                        merged[key] = result.Value;
                    }
                    else
                    {
                        errors[key] = result.Refusal ?? $"token '{key}' could not be read";
                        Log.TokenRefused(logger, pod.Metadata.NamespaceProperty, pod.Metadata.Name, key, errors[key]);
                    }
                }

                if (merged.Count > tokens.Count)
                {
                    await SaveAsync(pod, merged, cancellationToken);
                    tokens = merged;
                    _cached[uid] = merged;
                }
            }
            else
            {
                foreach (var key in missing)
                {
                    errors[key] = $"token '{key}' is collected once the pod is Ready";
                }
            }

            return new PodTokens(keys.Where(tokens.ContainsKey).ToDictionary(k => k, k => tokens[k], StringComparer.Ordinal), errors);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Drops what is cached for a pod that is gone (its Secret goes with it).</summary>
    public void Forget(string? podUid)
    {
        if (podUid is not null)
        {
            _cached.TryRemove(podUid, out _);
            _locks.TryRemove(podUid, out _);
        }
    }

    /// <summary>Pods with tokens in memory.</summary>
    public int CachedPods => _cached.Count;

    private async Task<IReadOnlyDictionary<string, string>> LoadAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        try
        {
            var secret = await Client.CoreV1.ReadNamespacedSecretAsync(
                UserPodKeys.TokenSecretName(pod.Metadata.Name), pod.Metadata.NamespaceProperty, cancellationToken: cancellationToken);
            if (secret.Metadata.OwnerReferences?.Any(o => o.Uid == pod.Metadata.Uid) != true)
            {
                return new Dictionary<string, string>(StringComparer.Ordinal);
            }

            return (secret.Data ?? new Dictionary<string, byte[]>())
                .ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetString(kv.Value), StringComparer.Ordinal);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }
    }

    private async Task SaveAsync(V1Pod pod, Dictionary<string, string> tokens, CancellationToken cancellationToken)
    {
        var secret = new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Type = "Opaque",
            Metadata = new V1ObjectMeta
            {
                Name = UserPodKeys.TokenSecretName(pod.Metadata.Name),
                NamespaceProperty = pod.Metadata.NamespaceProperty,
                Labels = new Dictionary<string, string>
                {
                    [SidecarsLabels.ManagedBy] = SidecarsLabels.ManagedByValue,
                    [UserPodKeys.TokensFor] = pod.Metadata.Name,
                    [SidecarsLabels.User] = pod.Metadata.Labels?.TryGetValue(SidecarsLabels.User, out var user) == true ? user : string.Empty,
                },
                OwnerReferences = [UserPodFactory.OwnerReference(pod)],
            },
            Data = tokens.ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetBytes(kv.Value), StringComparer.Ordinal),
        };
        await Client.ApplyAsync(secret, cancellationToken);

        Log.TokensStored(logger, pod.Metadata.NamespaceProperty, pod.Metadata.Name, tokens.Count);
    }

    [GeneratedRegex("^[-._a-zA-Z0-9]{1,253}$", RegexOptions.CultureInvariant)]
    private static partial Regex ValidKey();
}
