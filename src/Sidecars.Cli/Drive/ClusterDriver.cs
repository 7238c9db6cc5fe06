using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Sidecars.Contracts.V1;

namespace Sidecars.Cli.Drive;

/// <summary>
/// One drive of the Clusters service: create a cluster of N replicas, wait until it is Available, delete it and wait
/// until it is gone, printing each state change as it happens and a timing table at the end.
/// </summary>
internal sealed class ClusterDriver(Contracts.V1.Clusters.ClustersClient client, TextWriter output)
{
    public async Task<DriveTimings> RunAsync(string name, int replicas, string image, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        output.WriteLine($"[{Seconds(clock.Elapsed)}] creating cluster {name} ({replicas} replicas, image {image})");
        var request = new CreateClusterRequest { Name = name, Replicas = replicas, Image = image };
        var accepted = await client.CreateClusterAsync(new CreateClusterRequest(request) { NoWait = true }, cancellationToken: cancellationToken);
        var acceptedAt = clock.Elapsed;
        Print(clock, accepted);

        TimeSpan? firstReady = null;
        using (var watch = client.WatchCluster(new WatchClusterRequest { Name = name }, cancellationToken: cancellationToken))
        {
            await foreach (var cluster in watch.ResponseStream.ReadAllAsync(cancellationToken))
            {
                Print(clock, cluster);
                if (firstReady is null && cluster.ReadyReplicas > 0)
                {
                    firstReady = clock.Elapsed;
                }

                if (cluster.State is ClusterState.Available or ClusterState.Failed or ClusterState.DeleteInProgress)
                {
                    break;
                }
            }
        }

        // The same create again is idempotent: it answers the outcome (an error if the cluster failed).
        var created = await client.CreateClusterAsync(request, cancellationToken: cancellationToken);
        var availableAt = clock.Elapsed;
        output.WriteLine($"[{Seconds(availableAt)}] created cluster {name}: {created.AvailableReplicas}/{created.Replicas} available");

        output.WriteLine($"[{Seconds(clock.Elapsed)}] deleting cluster {name}");
        var deleteStarted = clock.Elapsed;
        var deleted = client.DeleteClusterAsync(new DeleteClusterRequest { Name = name }, cancellationToken: cancellationToken).ResponseAsync;
        try
        {
            using var watch = client.WatchCluster(new WatchClusterRequest { Name = name }, cancellationToken: cancellationToken);
            await foreach (var cluster in watch.ResponseStream.ReadAllAsync(cancellationToken))
            {
                Print(clock, cluster);
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            // Gone before the watch began.
        }

        await deleted;
        var goneAt = clock.Elapsed;
        output.WriteLine($"[{Seconds(goneAt)}] deleted cluster {name}");

        var timings = new DriveTimings(replicas, acceptedAt, firstReady ?? availableAt, availableAt, goneAt - deleteStarted, goneAt);
        timings.WriteTable(output);
        return timings;
    }

    private void Print(Stopwatch clock, Cluster cluster) =>
        output.WriteLine($"[{Seconds(clock.Elapsed)}] {cluster.State}: {cluster.ReadyReplicas}/{cluster.Replicas} ready, " +
                         $"{cluster.AvailableReplicas} available, {cluster.Pods} pods{(cluster.Reason.Length > 0 ? $" ({cluster.Reason})" : string.Empty)}");

    internal static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture).PadLeft(7) + "s";
}

/// <summary>What one drive measured, from the first request.</summary>
internal sealed record DriveTimings(int Replicas, TimeSpan Accepted, TimeSpan FirstReplicaReady, TimeSpan Available, TimeSpan Delete, TimeSpan Total)
{
    public void WriteTable(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine();
        output.WriteLine($"| {"step (" + Replicas.ToString(CultureInfo.InvariantCulture) + " replicas)",-37} | seconds |");
        output.WriteLine("|---------------------------------------|---------|");
        Row(output, "create accepted (CREATE_IN_PROGRESS)", Accepted);
        Row(output, "first replica ready", FirstReplicaReady);
        Row(output, "cluster Available", Available);
        Row(output, "delete (request to gone)", Delete);
        Row(output, "total", Total);
    }

    private static void Row(TextWriter output, string step, TimeSpan value) =>
        output.WriteLine($"| {step,-37} | {value.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture),7} |");
}
