using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;
using Sidecars.UserPods.Configuration;

namespace Sidecars.UserPods.Pods;

/// <summary>The Kubernetes calls of the user-pods API: create and delete a pod and the objects that go with it.</summary>
public sealed class UserPodResources(KubernetesAccess kubernetes, RequestWork work, IOptions<UserPodsOptions> options)
{
    private string Namespace => options.Value.Namespace;

    private IKubernetes Client => kubernetes.Client;

    /// <summary>The pod as the apiserver has it now, or null when it does not exist.</summary>
    public async Task<V1Pod?> ReadPodAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await Client.CoreV1.ReadNamespacedPodAsync(name, Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The pod labelled with <paramref name="instance"/> (<see cref="UserPodKeys.Instance"/>), or null; read from the apiserver.</summary>
    public async Task<V1Pod?> FindByInstanceAsync(string instance, CancellationToken cancellationToken)
    {
        var pods = await Client.CoreV1.ListNamespacedPodAsync(Namespace, labelSelector: UserPodKeys.Instance + "=" + instance, cancellationToken: cancellationToken);
        return pods.Items.FirstOrDefault();
    }

    /// <summary>Creates the pod; null when a pod of that name exists already (only a pod with a fixed name can meet one).</summary>
    public async Task<V1Pod?> CreatePodAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        try
        {
            return await Client.CoreV1.CreateNamespacedPodAsync(pod, Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict && !string.IsNullOrEmpty(pod?.Metadata?.Name))
        {
            return null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest)
        {
            throw new UserPodsException(UserPodsError.InvalidArgument, "invalid manifest: Kubernetes refused the pod: " + Reason(e));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound)
        {
            throw new UserPodsException(UserPodsError.FailedPrecondition, $"namespace {Namespace} does not exist");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Forbidden)
        {
            throw new UserPodsException(UserPodsError.FailedPrecondition, "Kubernetes refused to create the pod: " + Reason(e));
        }
    }

    /// <summary>
    /// Creates the pod's Service; one of that name owned by the same pod counts as created (a repeated create finishing
    /// what an earlier one began), one owned by an earlier pod of the same name (still being collected) is refused.
    /// </summary>
    public async Task CreateServiceAsync(V1Service service, CancellationToken cancellationToken)
    {
        try
        {
            await Client.CoreV1.CreateNamespacedServiceAsync(service, Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict)
        {
            var existing = await Client.CoreV1.ReadNamespacedServiceAsync(service.Metadata.Name, Namespace, cancellationToken: cancellationToken);
            SameOwner("Service", service.Metadata, existing.Metadata);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest)
        {
            throw new UserPodsException(UserPodsError.InvalidArgument, "invalid manifest: Kubernetes refused the Service: " + Reason(e));
        }
    }

    public async Task CreateIngressAsync(V1Ingress ingress, CancellationToken cancellationToken)
    {
        try
        {
            await Client.NetworkingV1.CreateNamespacedIngressAsync(ingress, Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict)
        {
            var existing = await Client.NetworkingV1.ReadNamespacedIngressAsync(ingress.Metadata.Name, Namespace, cancellationToken: cancellationToken);
            SameOwner("Ingress", ingress.Metadata, existing.Metadata);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest)
        {
            throw new UserPodsException(UserPodsError.InvalidArgument, "invalid manifest: Kubernetes refused the Ingress: " + Reason(e));
        }
    }

    private static void SameOwner(string kind, V1ObjectMeta wanted, V1ObjectMeta existing)
    {
        var owner = wanted.OwnerReferences?.FirstOrDefault()?.Uid;
        if (owner is null || existing.OwnerReferences?.Any(o => o.Uid == owner) != true)
        {
            throw new UserPodsException(
                UserPodsError.Unavailable, $"the {kind} {existing.Name} of an earlier pod of the same name is still being deleted; create the pod again");
        }
    }

    /// <summary>Deletes the pod and its Service, Ingress and token Secret (whichever exist), concurrently.</summary>
    public async Task DeleteAllAsync(string podName, CancellationToken cancellationToken)
    {
        var grace = (int)options.Value.DeleteGracePeriod.TotalSeconds;
        Func<CancellationToken, Task>[] deletes =
        [
            ct => Client.CoreV1.DeleteNamespacedPodAsync(podName, Namespace, gracePeriodSeconds: grace, cancellationToken: ct),
            ct => Client.CoreV1.DeleteNamespacedServiceAsync(podName, Namespace, cancellationToken: ct),
            ct => Client.NetworkingV1.DeleteNamespacedIngressAsync(podName, Namespace, cancellationToken: ct),
            ct => Client.CoreV1.DeleteNamespacedSecretAsync(UserPodKeys.TokenSecretName(podName), Namespace, cancellationToken: ct),
        ];
        await work.AllAsync(deletes, async (delete, ct) =>
        {
            try
            {
                await delete(ct);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                // Already gone (or never asked for by the manifest).
            }
            catch (System.Text.Json.JsonException)
            {
                // Older apiservers answer a Service delete with a Status where the client expects the Service: deleted.
            }

            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Creates the user's NFS PersistentVolume and claim unless they exist (the first pod that mounts the storage
    /// does it; later ones, and concurrent ones, find them).
    /// </summary>
    public async Task EnsureStorageAsync(string userId, string server, CancellationToken cancellationToken)
    {
        var volume = UserPodFactory.BuildStorageVolume(userId, server, options.Value);
        var claim = UserPodFactory.BuildStorageClaim(userId, options.Value);
        try
        {
            await Client.CoreV1.CreatePersistentVolumeAsync(volume, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Created by an earlier pod of the user.
        }

        try
        {
            await Client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(claim, Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Created by an earlier pod of the user.
        }
    }

    /// <summary>Deletes the storage objects the API created for the user (the files on the silo stay: the volume retains them).</summary>
    public async Task<int> DeleteStorageAsync(string userId, CancellationToken cancellationToken)
    {
        var selector = UserPodFactory.UserSelector(userId);
        var claims = await Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(Namespace, labelSelector: selector, cancellationToken: cancellationToken);
        var volumes = await Client.CoreV1.ListPersistentVolumeAsync(labelSelector: selector, cancellationToken: cancellationToken);
        Func<CancellationToken, Task>[] deletes =
        [
            .. claims.Items.Select(c => (Func<CancellationToken, Task>)(ct => Client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(c.Metadata.Name, Namespace, cancellationToken: ct))),
            .. volumes.Items.Select(v => (Func<CancellationToken, Task>)(ct => Client.CoreV1.DeletePersistentVolumeAsync(v.Metadata.Name, cancellationToken: ct))),
        ];
        await work.AllAsync(deletes, async (delete, ct) =>
        {
            try
            {
                await delete(ct);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                // Already gone.
            }

            return true;
        }, cancellationToken);
        return deletes.Length;
    }

    /// <summary>The user's Services by name (one list call), to report each pod's ssh nodePort.</summary>
    public async Task<IReadOnlyDictionary<string, V1Service>> ServicesOfAsync(string userId, CancellationToken cancellationToken)
    {
        var services = await Client.CoreV1.ListNamespacedServiceAsync(Namespace, labelSelector: UserPodFactory.UserSelector(userId), cancellationToken: cancellationToken);
        return services.Items.ToDictionary(s => s.Metadata.Name, StringComparer.Ordinal);
    }

    /// <summary>
    /// Removes <see cref="UserPodKeys.Creating"/> once the pod's Service and Ingress exist. A pod deleted meanwhile (its
    /// create deadline passed) fails the create.
    /// </summary>
    public async Task MarkCreatedAsync(string podName, CancellationToken cancellationToken)
    {
        var patch = new V1Patch(
            "{\"metadata\":{\"annotations\":{\"" + UserPodKeys.Creating + "\":null}}}",
            V1Patch.PatchType.MergePatch);
        try
        {
            await Client.CoreV1.PatchNamespacedPodAsync(patch, podName, Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new UserPodsException(UserPodsError.DeadlineExceeded, $"pod {podName} was deleted before its creation finished");
        }
    }

    /// <summary>Records that the pod has been Ready, so it is never reaped at the create timeout (also after a restart).</summary>
    public async Task MarkReadyAsync(V1Pod pod, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var patch = new V1Patch(
            new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["annotations"] = new JsonObject { [UserPodKeys.ReadyAt] = at.ToString("O", CultureInfo.InvariantCulture) },
                },
            }.ToJsonString(),
            V1Patch.PatchType.MergePatch);
        try
        {
            await Client.CoreV1.PatchNamespacedPodAsync(patch, pod.Metadata.Name, Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Deleted meanwhile.
        }
    }

    private static string Reason(HttpOperationException e)
    {
        var content = e.Response.Content;
        if (!string.IsNullOrEmpty(content))
        {
            try
            {
                var status = KubernetesJson.Deserialize<V1Status>(content);
                if (!string.IsNullOrEmpty(status?.Message))
                {
                    return status.Message;
                }
            }
            catch (System.Text.Json.JsonException)
            {
                // Not a Status; fall through.
            }
        }

        return e.Message;
    }
}
