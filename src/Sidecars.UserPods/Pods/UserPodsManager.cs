using System.Net;
using System.Security.Cryptography;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Conventions;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Manifests;
using Sidecars.UserPods.Security;
using Sidecars.UserPods.Tokens;

namespace Sidecars.UserPods.Pods;

/// <summary>
/// The user-pods operations. Every call is made by an authenticated <see cref="Caller"/> for a user_id it may act
/// for; watch calls for an unknown pod or another user's pod answer the default without revealing anything.
/// </summary>
public sealed partial class UserPodsManager(
    ManifestFetcher fetcher,
    UserPodResources resources,
    UserPodCache cache,
    TokenCache tokens,
    RequestWork work,
    TimeProvider time,
    IOptions<UserPodsOptions> options,
    ILogger<UserPodsManager> logger)
{
    private UserPodsOptions Options => options.Value;

    public async Task<string> CreateAsync(
        Caller caller, string yamlUrl, string userId,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? settings, IPAddress? callerAddress, string? requestId,
        CancellationToken cancellationToken)
    {
        Authorize(caller, userId);
        if (string.IsNullOrWhiteSpace(yamlUrl))
        {
            throw new UserPodsException(UserPodsError.InvalidArgument, "yaml_url is required");
        }

        requestId = string.IsNullOrEmpty(requestId) ? null : requestId;
        if (requestId is not null && UserPodRequests.Invalid(requestId) is { } invalid)
        {
            throw new UserPodsException(UserPodsError.InvalidArgument, invalid);
        }

        var instance = requestId is null ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) : UserPodRequests.Instance(userId, requestId);
        var earlier = requestId is null ? null : await EarlierAsync(instance, userId, requestId, cancellationToken);
        if (earlier is not null && !PodState.IsCreating(earlier))
        {
            return earlier.Metadata.Name;
        }

        var manifest = ManifestParser.Parse(await fetcher.FetchAsync(yamlUrl, cancellationToken));
        if (earlier is not null)
        {
            // The earlier create made the pod but not yet its Service or Ingress (it still runs, or its process died):
            // finish them, as it would have. Both finishing at once is harmless: each takes the other's objects as made.
            return await FinishAsync(manifest, earlier, cancellationToken);
        }

        var pod = UserPodFactory.BuildPod(manifest, userId, settings, Options, instance, CallerAddress.HomeServerOf(callerAddress, Options));
        var generateName = pod.Metadata.GenerateName;
        if (requestId is not null)
        {
            // A fixed name, so that two creates of one request racing each other make one pod: the apiserver refuses the second.
            pod.Metadata.Annotations[UserPodKeys.RequestId] = requestId;
            pod.Metadata.Name = generateName + UserPodRequests.NameSuffix(instance);
            pod.Metadata.GenerateName = null;
        }

        await cache.ReadyAsync(cancellationToken);
        if (!string.IsNullOrEmpty(Options.NfsStorageRoot) && UserPodFactory.UsesStorage(pod, Options))
        {
            var server = callerAddress?.ToString()
                ?? throw new UserPodsException(UserPodsError.FailedPrecondition, "the caller's address is unknown, so its NFS server is too");
            await resources.EnsureStorageAsync(userId, server, cancellationToken);
        }

        var created = await resources.CreatePodAsync(pod, cancellationToken);
        if (created is null)
        {
            if (await EarlierAsync(instance, userId, requestId!, cancellationToken) is { } raced)
            {
                return PodState.IsCreating(raced) ? await FinishAsync(manifest, raced, cancellationToken) : raced.Metadata.Name;
            }

            // Another request's pod (or this request's pod, being deleted) holds the name: a generated one then.
            pod.Metadata.GenerateName = generateName;
            pod.Metadata.Name = null;
            created = await resources.CreatePodAsync(pod, cancellationToken)
                ?? throw new UserPodsException(UserPodsError.Unavailable, "the pod could not be named; create it again");
        }

        await FinishAsync(manifest, created, cancellationToken);
        UserPodsMetrics.PodsCreated.Inc();
        Log.Created(logger, Options.Namespace, created.Metadata.Name, manifest.Service is not null, manifest.Ingress is not null);
        return created.Metadata.Name;
    }

    /// <summary>Creates the pod's Service and Ingress (those its manifest has) and marks the pod whole; on failure deletes it all.</summary>
    private async Task<string> FinishAsync(UserPodManifest manifest, V1Pod created, CancellationToken cancellationToken)
    {
        var name = created.Metadata.Name;
        try
        {
            if (manifest.Service is not null)
            {
                var service = UserPodFactory.BuildService(manifest.Service, created);
                await resources.CreateServiceAsync(service, cancellationToken);
                if (manifest.Ingress is not null)
                {
                    await resources.CreateIngressAsync(UserPodFactory.BuildIngress(manifest.Ingress, service, created, Options), cancellationToken);
                }
            }

            // The pod is whole: only now does it count (a creator killed before this leaves it to the lifecycle).
            if (PodState.IsCreating(created))
            {
                await resources.MarkCreatedAsync(name, cancellationToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.CreateRolledBack(logger, Options.Namespace, name, e.Message);
            await resources.DeleteAllAsync(name, CancellationToken.None);
            throw;
        }

        return name;
    }

    /// <summary>The pod an earlier create of the same request made, while it exists and is not being deleted.</summary>
    private async Task<V1Pod?> EarlierAsync(string instance, string userId, string requestId, CancellationToken cancellationToken)
    {
        var earlier = await resources.FindByInstanceAsync(instance, cancellationToken);
        if (earlier is null || earlier.Metadata.DeletionTimestamp is not null || !PodState.BelongsTo(earlier, userId)
            || earlier.Metadata.Annotations is not { } annotations
            || !annotations.TryGetValue(UserPodKeys.RequestId, out var made) || made != requestId)
        {
            return null;
        }

        Log.Repeated(logger, Options.Namespace, earlier.Metadata.Name, PodState.IsCreating(earlier));
        return earlier;
    }

    /// <summary>
    /// True once the pod is Ready and whole (tokens collected); false at the create timeout (the pod is then deleted).
    /// </summary>
    public async Task<bool> WatchCreateAsync(Caller caller, string userId, string podName, CancellationToken cancellationToken)
    {
        Authorize(caller, userId);
        var pod = await FindOwnedAsync(userId, podName, cancellationToken);
        if (pod is null && KubernetesNames.IsDnsSubdomain(podName)
            && await resources.ReadPodAsync(podName, cancellationToken) is { } created && PodState.BelongsTo(created, userId))
        {
            // Created a moment ago and not in the cache yet (the usual call right after create_pod): wait until it is,
            // rather than answer for a pod the cache has not seen as if it were gone.
            (pod, _) = await cache.WaitAsync(podName, p => p is not null, PodState.CreateDeadline(created, Options.CreateTimeout), cancellationToken);
        }

        if (pod is null)
        {
            return false;
        }

        if (PodState.WasReady(pod) && !PodState.IsReady(pod))
        {
            // Its creation finished long ago; it is not Ready now (restarting, or being deleted): say so at once.
            return false;
        }

        var (current, timedOut) = await cache.WaitAsync(
            podName, p => p is null || p.Metadata.DeletionTimestamp is not null || (PodState.IsReady(p) && !PodState.IsCreating(p)),
            PodState.CreateDeadline(pod, Options.CreateTimeout),
            cancellationToken);
        if (timedOut)
        {
            UserPodsMetrics.PodsReaped.Inc();
            Log.NotReadyInTime(logger, Options.Namespace, podName, Options.CreateTimeout.TotalSeconds);
            await resources.DeleteAllAsync(podName, cancellationToken);
            return false;
        }

        if (current is null || !PodState.IsReady(current) || PodState.IsCreating(current))
        {
            return false;
        }

        if (!PodState.WasReady(current))
        {
            await resources.MarkReadyAsync(current, time.GetUtcNow(), cancellationToken);
        }

        await tokens.GetAsync(current, fetchMissing: true, cancellationToken);
        return true;
    }

    /// <summary>Starts deleting the pod and its resources; false for an unknown or someone else's pod.</summary>
    public async Task<bool> DeleteAsync(Caller caller, string userId, string podName, CancellationToken cancellationToken)
    {
        Authorize(caller, userId);
        if (await FindOwnedAsync(userId, podName, cancellationToken) is null)
        {
            return false;
        }

        await resources.DeleteAllAsync(podName, cancellationToken);
        Log.Deleted(logger, Options.Namespace, podName);
        return true;
    }

    /// <summary>True once the pod is gone (also for an unknown or someone else's pod); false at the delete timeout.</summary>
    public async Task<bool> WatchDeleteAsync(Caller caller, string userId, string podName, CancellationToken cancellationToken)
    {
        Authorize(caller, userId);
        if (await FindOwnedAsync(userId, podName, cancellationToken) is null)
        {
            return true;
        }

        var (_, timedOut) = await cache.WaitAsync(
            podName, p => p is null, time.GetUtcNow() + Options.DeleteTimeout, cancellationToken);
        return !timedOut;
    }

    public async Task<IReadOnlyList<string>> DeleteAllAsync(Caller caller, string userId, CancellationToken cancellationToken)
    {
        Authorize(caller, userId);
        var names = (await cache.AllAsync(cancellationToken))
            .Where(p => PodState.BelongsTo(p, userId) && p.Metadata.DeletionTimestamp is null)
            .Select(p => p.Metadata.Name)
            .Order(StringComparer.Ordinal)
            .ToList();
        await work.AllAsync(names, async (name, ct) =>
        {
            await resources.DeleteAllAsync(name, ct);
            return name;
        }, cancellationToken);
        var storage = await resources.DeleteStorageAsync(userId, cancellationToken);
        Log.DeletedAll(logger, Options.Namespace, names.Count, storage);
        return names;
    }

    public async Task<IReadOnlyList<UserPodView>> GetPodsAsync(Caller caller, string userId, CancellationToken cancellationToken)
    {
        Authorize(caller, userId);
        // A pod whose creation never finished is nobody's answer: it is not listed, and is deleted at its create deadline.
        var pods = (await cache.AllAsync(cancellationToken))
            .Where(p => PodState.BelongsTo(p, userId) && !PodState.IsCreating(p))
            .OrderBy(p => p.Metadata.CreationTimestamp)
            .ThenBy(p => p.Metadata.Name, StringComparer.Ordinal)
            .ToList();
        var services = pods.Count == 0 ? new Dictionary<string, V1Service>() : await resources.ServicesOfAsync(userId, cancellationToken);
        var views = new List<UserPodView>(pods.Count);
        foreach (var pod in pods)
        {
            var podTokens = await tokens.GetAsync(pod, fetchMissing: true, cancellationToken);
            views.Add(View(pod, podTokens, services.GetValueOrDefault(pod.Metadata.Name)));
        }

        return views;
    }

    /// <summary>The user owning the pod with this IP; null if none, or if it is not the caller's (for a non-operator).</summary>
    public async Task<(string UserId, string PodName)?> GetPodIpOwnerAsync(Caller caller, string ip, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!IPAddress.TryParse(ip, out _))
        {
            throw new UserPodsException(UserPodsError.InvalidArgument, $"ip '{ip}' is not an IP address");
        }

        var pod = (await cache.AllAsync(cancellationToken))
            .FirstOrDefault(p => p.Status?.PodIP == ip && p.Metadata.DeletionTimestamp is null && !PodState.IsTerminal(p));
        var user = pod is null ? null : PodState.UserOf(pod);
        return user is null || !caller.MayActFor(user) ? null : (user, pod!.Metadata.Name);
    }

    private static void Authorize(Caller caller, string userId)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!UserIds.IsValid(userId))
        {
            throw new UserPodsException(UserPodsError.InvalidArgument,
                $"user_id is required (1 to {UserIds.MaxLength} printable characters, no surrounding spaces)");
        }

        caller.EnsureMayActFor(userId);
    }

    private async Task<V1Pod?> FindOwnedAsync(string userId, string podName, CancellationToken cancellationToken)
    {
        if (!KubernetesNames.IsDnsSubdomain(podName))
        {
            return null;
        }

        var pod = await cache.FindAsync(podName, cancellationToken);
        return pod is not null && PodState.BelongsTo(pod, userId) ? pod : null;
    }

    /// <summary>What the original reported about a pod's other objects: the nodePort of its ssh Service port, as sshPort.</summary>
    internal static IReadOnlyDictionary<string, string> ResourceInfo(V1Service? service)
    {
        var ssh = service?.Spec?.Type == "NodePort"
            ? service.Spec.Ports?.FirstOrDefault(p => p.NodePort is > 0 && (p.Name == "ssh" || p.Port == 22 || p.TargetPort?.Value == "22"))
            : null;
        return ssh is null
            ? new Dictionary<string, string>()
            : new Dictionary<string, string> { ["sshPort"] = ssh.NodePort!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) };
    }

    private UserPodView View(V1Pod pod, PodTokens podTokens, V1Service? service) => new(
        pod.Metadata.Name,
        [.. pod.Spec.Containers.Select(c => c.Name)],
        [.. pod.Spec.Containers.Select(c => c.Image)],
        pod.Status?.PodIP ?? string.Empty,
        pod.Status?.HostIP ?? string.Empty,
        PodState.UserOf(pod) ?? string.Empty,
        new DateTimeOffset(DateTime.SpecifyKind(pod.Metadata.CreationTimestamp ?? time.GetUtcNow().UtcDateTime, DateTimeKind.Utc)),
        PodState.Status(pod),
        PodState.HasIngress(pod) ? "https://" + UserPodFactory.Host(pod.Metadata.Name, Options) : string.Empty,
        podTokens,
        ResourceInfo(service));
}
