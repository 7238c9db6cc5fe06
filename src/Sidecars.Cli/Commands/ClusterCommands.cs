using System.CommandLine;
using Grpc.Core;
using Sidecars.Cli.Drive;
using Sidecars.Contracts.V1;

namespace Sidecars.Cli.Commands;

/// <summary><c>cluster create|delete|get|list</c>: the driver of the cluster agent's Clusters service.</summary>
internal static class ClusterCommands
{
    private static readonly ClusterAgentConnection Connection = ClusterAgentConnection.Create();

    public static void AddTo(RootCommand root)
    {
        var command = new Command("cluster", "Create, delete and inspect clusters (Deployments managed by Sidecars)");
        command.Subcommands.Add(Create());
        command.Subcommands.Add(Delete());
        command.Subcommands.Add(Get());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Drive());
        root.Subcommands.Add(command);
    }

    private static Command Create()
    {
        var name = new Argument<string>("name") { Description = "Cluster name (a DNS label)" };
        var replicas = new Option<int>("--replicas") { Description = "Number of pods", DefaultValueFactory = _ => 1 };
        var image = new Option<string?>("--image") { Description = "Container image of a single-container pod" };
        var template = new Option<FileInfo?>("--pod-template") { Description = "File with a PodTemplateSpec as JSON (instead of --image)" };
        var nodeSelector = new Option<string[]>("--node-selector") { Description = "key=value node labels the pods need", AllowMultipleArgumentsPerToken = true };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for Available (0: the agent's default)" };
        var deleteOnTimeout = new Option<bool>("--delete-on-timeout") { Description = "Delete the Deployment if it is not Available in time" };
        var noWait = new Option<bool>("--no-wait")
        {
            Description = "Answer at once with the current state (CREATE_IN_PROGRESS while a create is under way), as the original control plane did",
        };
        var command = new Command("create", "Create a cluster and wait until Kubernetes reports it Available, printing progress") { name };
        foreach (var option in new Option[] { replicas, image, template, nodeSelector, timeout, deleteOnTimeout, noWait })
        {
            command.Options.Add(option);
        }

        Connection.AddTo(command);
        command.SetAction((result, ct) => RunAsync(result, async client =>
        {
            var request = new CreateClusterRequest
            {
                Name = result.GetValue(name)!,
                Replicas = result.GetValue(replicas),
                Image = result.GetValue(image) ?? string.Empty,
                PodTemplateJson = result.GetValue(template) is { } file ? await File.ReadAllTextAsync(file.FullName, ct) : string.Empty,
                TimeoutSeconds = result.GetValue(timeout),
                OnTimeout = result.GetValue(deleteOnTimeout) ? TimeoutAction.Delete : TimeoutAction.Unspecified,
            };
            foreach (var pair in result.GetValue(nodeSelector) ?? [])
            {
                var parts = pair.Split('=', 2);
                if (parts.Length != 2)
                {
                    throw new InvalidDataException($"--node-selector '{pair}' is not key=value");
                }

                request.NodeSelector[parts[0]] = parts[1];
            }

            // Start without waiting, print progress from the watch, then repeat the (idempotent) call for the outcome.
            Print(await client.CreateClusterAsync(new CreateClusterRequest(request) { NoWait = true }, cancellationToken: ct));
            if (result.GetValue(noWait))
            {
                return 0;
            }

            using var watch = client.WatchCluster(new WatchClusterRequest { Name = request.Name }, cancellationToken: ct);
            await foreach (var cluster in watch.ResponseStream.ReadAllAsync(ct))
            {
                Print(cluster);
                if (cluster.State is ClusterState.Available or ClusterState.Failed or ClusterState.DeleteInProgress)
                {
                    break;
                }
            }

            Print(await client.CreateClusterAsync(request, cancellationToken: ct));
            return 0;
        }, ct));
        return command;
    }

    private static Command Drive()
    {
        var name = new Option<string>("--name") { Description = "Cluster name", DefaultValueFactory = _ => "drive" };
        var replicas = new Option<int>("--replicas") { Description = "Number of pods", DefaultValueFactory = _ => 30 };
        var image = new Option<string>("--image") { Description = "Container image of the pods", DefaultValueFactory = _ => "registry.k8s.io/pause:3.9" };
        var local = new Option<bool>("--local")
        {
            Description = "Start a local control plane (simulated kubelet) and an in-process cluster agent, and drive those",
        };
        var command = new Command("drive", "Create a cluster of N replicas, wait until Available, delete it, wait until gone; print progress and a timing table");
        foreach (var option in new Option[] { name, replicas, image, local })
        {
            command.Options.Add(option);
        }

        Connection.AddTo(command);
        command.SetAction(async (result, ct) =>
        {
            if (!result.GetValue(local))
            {
                return await RunAsync(result, async client =>
                {
                    await new ClusterDriver(client, Console.Out).RunAsync(result.GetValue(name)!, result.GetValue(replicas), result.GetValue(image)!, ct);
                    return 0;
                }, ct);
            }

            try
            {
                await using var agent = await LocalClusterAgent.StartAsync("drive", Console.Out, ct);
                await new ClusterDriver(new Contracts.V1.Clusters.ClustersClient(agent.Channel), Console.Out)
                    .RunAsync(result.GetValue(name)!, result.GetValue(replicas), result.GetValue(image)!, ct);
                return 0;
            }
            catch (RpcException e)
            {
                await Console.Error.WriteLineAsync($"error: {e.StatusCode}: {e.Status.Detail}");
                return 1;
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException or FileNotFoundException or IOException)
            {
                await Console.Error.WriteLineAsync("drive failed: " + e.Message);
                return 1;
            }
        });
        return command;
    }

    private static Command Delete()
    {
        var name = new Argument<string>("name");
        var command = new Command("delete", "Delete a cluster and wait until its Deployment and pods are gone") { name };
        Connection.AddTo(command);
        command.SetAction((result, ct) => RunAsync(result, async client =>
        {
            var delete = client.DeleteClusterAsync(new DeleteClusterRequest { Name = result.GetValue(name)! }, cancellationToken: ct).ResponseAsync;
            try
            {
                using var watch = client.WatchCluster(new WatchClusterRequest { Name = result.GetValue(name)! }, cancellationToken: ct);
                await foreach (var cluster in watch.ResponseStream.ReadAllAsync(ct))
                {
                    Print(cluster);
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                // Already gone; the delete call reports how it went.
            }

            await delete;
            Console.WriteLine($"{result.GetValue(name)}: gone");
            return 0;
        }, ct));
        return command;
    }

    private static Command Get()
    {
        var name = new Argument<string>("name");
        var command = new Command("get", "Show one cluster's state") { name };
        Connection.AddTo(command);
        command.SetAction((result, ct) => RunAsync(result, async client =>
        {
            Print(await client.GetClusterAsync(new GetClusterRequest { Name = result.GetValue(name)! }, cancellationToken: ct));
            return 0;
        }, ct));
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", "List the clusters the agent manages");
        Connection.AddTo(command);
        command.SetAction((result, ct) => RunAsync(result, async client =>
        {
            foreach (var cluster in (await client.ListClustersAsync(new ListClustersRequest(), cancellationToken: ct)).Clusters)
            {
                Print(cluster);
            }

            return 0;
        }, ct));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult result, Func<Contracts.V1.Clusters.ClustersClient, Task<int>> action, CancellationToken ct)
    {
        try
        {
            using var channel = Connection.Connect(result);
            return await action(new Contracts.V1.Clusters.ClustersClient(channel));
        }
        catch (RpcException e)
        {
            var reason = e.Trailers.GetValue("cluster-reason");
            await Console.Error.WriteLineAsync($"error: {e.StatusCode}: {e.Status.Detail}{(reason is null ? string.Empty : $" (reason {reason})")}");
            return e.StatusCode == StatusCode.DeadlineExceeded ? 3 : 1;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("error: " + e.Message);
            return ct.IsCancellationRequested ? 130 : 2;
        }
    }

    private static void Print(Cluster cluster) =>
        Console.WriteLine($"{cluster.Name}: {cluster.State} {cluster.AvailableReplicas}/{cluster.Replicas} available, " +
                          $"{cluster.ReadyReplicas} ready, {cluster.Pods} pods{(cluster.Reason.Length > 0 ? $" ({cluster.Reason}: {cluster.Message})" : string.Empty)}");
}
