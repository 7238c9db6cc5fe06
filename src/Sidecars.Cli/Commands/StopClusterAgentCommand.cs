using System.CommandLine;
using System.Net;
using k8s;
using k8s.Autorest;
using Sidecars.Cli.Configuration;
using Sidecars.Identity.Store;

namespace Sidecars.Cli.Commands;

/// <summary>
/// <c>stop-cluster-agent</c>: uninstalls the cluster agent (its Deployment, Service and PodDisruptionBudget). Its
/// persistent state (the root identity and the application secrets, Secrets labelled <c>sidecars.io/identity</c>)
/// is kept, so a later install comes back with the same identity, unless <c>--delete-state</c> is given.
/// </summary>
internal static class StopClusterAgentCommand
{
    public const string Name = "sidecars-cluster-agent";
    public const string DefaultNamespace = "sidecars-system";

    public static void AddTo(RootCommand root)
    {
        var ns = new Option<string?>("--namespace", "-n") { Description = $"Namespace of the cluster agent (default: the settings file's agent-namespace, else {DefaultNamespace})" };
        var deleteState = new Option<bool>("--delete-state") { Description = "Also delete the agent's persistent state (root identity and secrets): applications must be started again" };
        var command = new Command("stop-cluster-agent", "Uninstall the cluster agent, keeping its persistent state unless --delete-state");
        command.Options.Add(ns);
        command.Options.Add(deleteState);
        command.SetAction(async (result, ct) =>
        {
            try
            {
                using var kube = CliKubernetes.Client();
                var @namespace = result.GetValue(ns) ?? CliConfig.Load()["agent-namespace"] ?? DefaultNamespace;
                await IgnoreMissingAsync(() => kube.AppsV1.DeleteNamespacedDeploymentAsync(Name, @namespace, propagationPolicy: "Foreground", cancellationToken: ct));
                await IgnoreMissingAsync(() => kube.CoreV1.DeleteNamespacedServiceAsync(Name, @namespace, cancellationToken: ct));
                await IgnoreMissingAsync(() => kube.PolicyV1.DeleteNamespacedPodDisruptionBudgetAsync(Name, @namespace, cancellationToken: ct));
                Console.Out.WriteLine($"cluster agent {@namespace}/{Name} removed");

                var state = await kube.CoreV1.ListNamespacedSecretAsync(@namespace, labelSelector: KubernetesIdentityStore.KindLabel, cancellationToken: ct);
                if (!result.GetValue(deleteState))
                {
                    Console.Out.WriteLine($"kept its state: {state.Items.Count} Secret(s) labelled {KubernetesIdentityStore.KindLabel} (delete with --delete-state)");
                    return 0;
                }

                foreach (var secret in state.Items)
                {
                    await IgnoreMissingAsync(() => kube.CoreV1.DeleteNamespacedSecretAsync(secret.Metadata.Name, @namespace, cancellationToken: ct));
                }

                Console.Out.WriteLine($"deleted its state: {state.Items.Count} Secret(s)");
                return 0;
            }
            catch (Exception e) when (e is HttpOperationException or InvalidDataException or IOException or k8s.Exceptions.KubeConfigException)
            {
                await Console.Error.WriteLineAsync("error: " + e.Message);
                return 1;
            }
        });
        root.Subcommands.Add(command);
    }

    private static async Task IgnoreMissingAsync<T>(Func<Task<T>> delete)
    {
        try
        {
            await delete();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Not installed (or already removed).
        }
        catch (System.Text.Json.JsonException)
        {
            // Older apiservers answer a Service delete with a Status where the client expects the Service: deleted.
        }
    }
}
