using System.Net;
using k8s;
using k8s.Models;
using Sidecars.Kubernetes;

namespace Sidecars.RealNode.Tests;

/// <summary>The running lane's API as its admin: a client, kubectl and namespaces for tests.</summary>
public sealed class LaneCluster : IDisposable
{
    private static readonly TimeSpan KubectlTimeout = TimeSpan.FromMinutes(2);

    public LaneCluster(string kubeconfig)
    {
        Kubeconfig = kubeconfig;
        Client = new k8s.Kubernetes(KubernetesClientConfig.Build(kubeconfig));
    }

    public string Kubeconfig { get; }

    public k8s.Kubernetes Client { get; }

    /// <summary>Runs kubectl against the lane; fails with its stderr unless it succeeds.</summary>
    public async Task<string> KubectlAsync(string[] args, string? stdin = null)
    {
        var result = await TryKubectlAsync(args, stdin);
        Assert.True(result.Succeeded, $"kubectl {string.Join(' ', args)} exited with {result.ExitCode}: {result.Error.Trim()}");
        return result.Output;
    }

    public Task<CommandResult> TryKubectlAsync(string[] args, string? stdin = null) =>
        Commands.RunAsync(Path.Combine(Lane.BinDirectory, "kubectl"), ["--kubeconfig", Kubeconfig, .. args], KubectlTimeout, stdin);

    /// <summary>Creates <c>&lt;prefix&gt;-&lt;random&gt;</c> and waits until pods can be created in it.</summary>
    public async Task<string> NewNamespaceAsync(string prefix, IDictionary<string, string>? labels = null)
    {
        var name = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name, Labels = labels } });
        // In 1.20 pods are refused until the default ServiceAccount has its token Secret.
        await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    var account = await Client.CoreV1.ReadNamespacedServiceAccountAsync("default", name);
                    return account.Secrets is { Count: > 0 };
                }
                catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
                {
                    return false;
                }
            },
            $"the default ServiceAccount of {name} with its token",
            TimeSpan.FromSeconds(60));
        return name;
    }

    /// <summary>The pod's events as "Reason: message" lines, oldest first.</summary>
    public async Task<IReadOnlyList<string>> EventsOfAsync(string ns, string pod)
    {
        var events = await Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.name={pod}");
        return [.. events.Items.OrderBy(e => e.LastTimestamp ?? e.EventTime).Select(e => $"{e.Reason}: {e.Message}")];
    }

    /// <summary>The last lines each container of the pod wrote (its previous run too, after a restart), for failure messages.</summary>
    public async Task<string> LogTailsOfAsync(string ns, string pod, int lines = 30)
    {
        var text = new System.Text.StringBuilder();
        try
        {
            var read = await Client.CoreV1.ReadNamespacedPodAsync(pod, ns);
            foreach (var status in (read.Status?.InitContainerStatuses ?? []).Concat(read.Status?.ContainerStatuses ?? []))
            {
                foreach (var previous in status.RestartCount > 0 ? new[] { true, false } : [false])
                {
                    text.Append(System.Globalization.CultureInfo.InvariantCulture, $"--- {status.Name}{(previous ? " (previous run)" : "")}:\n");
                    try
                    {
                        using var stream = await Client.CoreV1.ReadNamespacedPodLogAsync(pod, ns, container: status.Name, previous: previous, tailLines: lines);
                        using var reader = new StreamReader(stream);
                        text.Append(await reader.ReadToEndAsync());
                    }
                    catch (k8s.Autorest.HttpOperationException e)
                    {
                        text.Append(System.Globalization.CultureInfo.InvariantCulture, $"(no log: {e.Response.StatusCode})\n");
                    }
                }
            }
        }
        catch (k8s.Autorest.HttpOperationException e)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"(pod unreadable: {e.Response.StatusCode})\n");
        }

        return text.ToString();
    }

    public void Dispose() => Client.Dispose();
}
