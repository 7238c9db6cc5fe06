using System.Diagnostics;
using Grpc.Core;
using k8s;
using k8s.Models;
using Sidecars.Contracts.V1;

namespace Sidecars.Faults.Tests.ControlPlane;

/// <summary>What the cluster fault tests share: a node label that gates scheduling, waits on a cluster's state.</summary>
internal static class ClusterFaults
{
    /// <summary>
    /// Sets (or, with null, removes) a label of the node. Pods selecting it stay Pending until it is set, so a test
    /// decides when a cluster can become Available. Retried for a minute: right after a restart the apiserver may still
    /// refuse, or the client may hold a connection from before it.
    /// </summary>
    public static async Task LabelNodeAsync(IKubernetes client, string node, string key, string? value, CancellationToken ct)
    {
        var patch = new V1Patch(
            System.Text.Json.JsonSerializer.Serialize(new { metadata = new { labels = new Dictionary<string, string?> { [key] = value } } }),
            V1Patch.PatchType.MergePatch);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await client.CoreV1.PatchNodeAsync(patch, node, cancellationToken: ct);
                return;
            }
            catch (Exception e) when (e is HttpRequestException or k8s.Autorest.HttpOperationException or IOException && deadline.Elapsed < TimeSpan.FromMinutes(1))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
            }
        }
    }

    public static async Task<string> NodeAsync(IKubernetes client, CancellationToken ct) =>
        (await client.CoreV1.ListNodeAsync(cancellationToken: ct)).Items.Single().Metadata.Name;

    /// <summary>
    /// Follows WatchCluster until <paramref name="condition"/> holds; a cluster not known yet (its create call is still
    /// on its way) is watched again.
    /// </summary>
    public static async Task WaitForStateAsync(Contracts.V1.Clusters.ClustersClient clusters, string name, Func<Cluster, bool> condition, CancellationToken ct)
    {
        Cluster? last = null;
        while (true)
        {
            try
            {
                using var call = clusters.WatchCluster(new WatchClusterRequest { Name = name }, cancellationToken: ct);
                await foreach (var cluster in call.ResponseStream.ReadAllAsync(ct))
                {
                    last = cluster;
                    if (condition(cluster))
                    {
                        return;
                    }
                }

                Assert.Fail($"cluster {name} never reached the awaited state; last seen: {last}");
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && last is null)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
            }
        }
    }
}
