using System.CommandLine;
using System.Net;
using System.Text;
using Grpc.Core;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Sidecars.Contracts.V1;
using Sidecars.Conventions;
using Sidecars.Kubernetes;
using Sidecars.Mutation;
using IdentityClient = Sidecars.Contracts.V1.Identity.IdentityClient;

namespace Sidecars.Cli.Commands;

/// <summary><c>claim</c>, <c>app start|stop</c> and <c>blessings</c>: the cluster agent's identity tooling.</summary>
internal static class IdentityCommands
{
    public static void AddTo(RootCommand root)
    {
        root.Subcommands.Add(CreateClaim());
        root.Subcommands.Add(CreateApp());
        root.Subcommands.Add(CreateBlessings());
    }

    private static Command CreateClaim()
    {
        var agent = ClusterAgentConnection.Create(token: true);
        var blessing = new Option<string>("--blessing") { Description = "The cluster agent's root blessing", Required = true };
        var command = new Command("claim", "Claim the cluster agent: set its root blessing (once)");
        agent.AddTo(command);
        command.Options.Add(blessing);
        command.SetAction(async (result, ct) => await Guard(async () =>
        {
            var response = await new IdentityClient(agent.Connect(result)).ClaimAsync(new ClaimRequest { Blessing = result.GetRequiredValue(blessing) }, cancellationToken: ct);
            Console.Out.WriteLine($"claimed as {response.Blessing}");
            return 0;
        }));
        return command;
    }

    private static Command CreateApp()
    {
        var app = new Command("app", "Start and stop applications with a blessing");
        app.Subcommands.Add(CreateAppStart());
        app.Subcommands.Add(CreateAppStop());
        return app;
    }

    private static Command CreateAppStart()
    {
        var agent = ClusterAgentConnection.Create(token: true);
        var file = new Option<string>("--filename", "-f") { Description = "Deployment manifest (YAML)", Required = true };
        var blessing = new Option<string>("--blessing") { Description = "The application's blessing extension", Required = true };
        var ns = new Option<string?>("--namespace", "-n") { Description = "Namespace (default: the manifest's, else the settings file's, else default)" };
        var wait = new Option<bool>("--wait") { Description = "Wait until the Deployment is Available" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait with --wait", DefaultValueFactory = _ => 300 };
        var command = new Command(
            "start", "Create a secret, store it in a Kubernetes Secret, opt the pod template in to injection, annotate and apply the Deployment");
        agent.AddTo(command);
        foreach (var option in new Option[] { file, blessing, ns, wait, timeout })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (result, ct) => await Guard(async () =>
        {
            var deployment = KubernetesObjects.ReadOne<V1Deployment>(await File.ReadAllTextAsync(result.GetRequiredValue(file), ct));
            var extension = result.GetRequiredValue(blessing);
            var @namespace = result.GetValue(ns) ?? deployment.Metadata.NamespaceProperty ?? Configuration.CliKubernetes.Namespace();
            deployment.Metadata.NamespaceProperty = @namespace;
            var secretName = SidecarsNames.DefaultSecretName(extension);
            var template = deployment.Spec.Template.Metadata ??= new V1ObjectMeta();
            template.Annotations ??= new Dictionary<string, string>();
            template.Annotations[SidecarsAnnotations.Blessing] = extension;
            template.Annotations[SidecarsAnnotations.BlessingSecret] = secretName;
            using var kube = KubeClient();
            var refused = PodOptIn.Apply(template.Annotations, template.Labels as IReadOnlyDictionary<string, string>)
                ?? PodOptIn.NamespaceRefusal(@namespace, await NamespaceLabelsAsync(kube, @namespace, ct));
            if (refused is not null)
            {
                Console.Error.WriteLine($"error: deployment {@namespace}/{deployment.Metadata.Name} not started: {refused}");
                return 1;
            }

            var secret = await new IdentityClient(agent.Connect(result)).NewSecretAsync(new NewSecretRequest { Extension = extension }, cancellationToken: ct);
            await kube.ApplyAsync(AppSecret(@namespace, secretName, secret.Secret), ct);
            await kube.ApplyAsync(deployment, ct);
            Console.Out.WriteLine($"deployment {@namespace}/{deployment.Metadata.Name} started with blessing {secret.Blessing} (secret {secretName})");

            if (result.GetValue(wait))
            {
                var name = deployment.Metadata.Name;
                await kube.ForDeploymentAsync(
                    @namespace, name, KubernetesConditions.IsDeploymentAvailable,
                    $"deployment {@namespace}/{name} to be Available", TimeSpan.FromSeconds(result.GetValue(timeout)), ct);
                var bare = await PodsWithoutAgentAsync(kube, deployment, ct);
                if (bare.Count > 0)
                {
                    Console.Error.WriteLine(
                        $"error: deployment {@namespace}/{name} is Available but pods {string.Join(", ", bare)} run without their " +
                        $"{SidecarsNames.PodAgentContainer}: the webhook did not inject them (run `sidecarsctl check`)");
                    return 1;
                }

                Console.Out.WriteLine($"deployment {@namespace}/{name} is available, every pod with its {SidecarsNames.PodAgentContainer}");
            }

            return 0;
        }));
        return command;
    }

    private static Command CreateAppStop()
    {
        var agent = ClusterAgentConnection.Create(token: true);
        var name = new Argument<string>("deployment") { Description = "Deployment name" };
        var ns = new Option<string>("--namespace", "-n") { Description = "Namespace (default: the settings file's, else default)", DefaultValueFactory = _ => Configuration.CliKubernetes.Namespace() };
        var command = new Command("stop", "Delete the Deployment and forget its secret");
        agent.AddTo(command);
        command.Arguments.Add(name);
        command.Options.Add(ns);
        command.SetAction(async (result, ct) => await Guard(async () =>
        {
            using var kube = KubeClient();
            var @namespace = result.GetRequiredValue(ns);
            var deployment = await kube.AppsV1.ReadNamespacedDeploymentAsync(result.GetRequiredValue(name), @namespace, cancellationToken: ct);
            var annotations = deployment.Spec.Template.Metadata?.Annotations ?? new Dictionary<string, string>();
            if (annotations.TryGetValue(SidecarsAnnotations.BlessingSecret, out var secretName)
                || (annotations.TryGetValue(SidecarsAnnotations.Blessing, out var ext) && (secretName = SidecarsNames.DefaultSecretName(ext)) is not null))
            {
                var stored = await kube.CoreV1.ReadNamespacedSecretAsync(secretName, @namespace, cancellationToken: ct);
                var value = Encoding.UTF8.GetString(stored.Data[SidecarsNames.SecretKey]);
                try
                {
                    var forgotten = await new IdentityClient(agent.Connect(result)).ForgetSecretAsync(new ForgetSecretRequest { Secret = value }, cancellationToken: ct);
                    Console.Out.WriteLine($"forgot the secret of {forgotten.Blessing}");
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.PermissionDenied)
                {
                    Console.Error.WriteLine("warning: the cluster agent no longer knows the secret: " + e.Status.Detail);
                }

                await kube.CoreV1.DeleteNamespacedSecretAsync(secretName, @namespace, cancellationToken: ct);
            }

            await kube.AppsV1.DeleteNamespacedDeploymentAsync(deployment.Metadata.Name, @namespace, cancellationToken: ct);
            Console.Out.WriteLine($"deployment {@namespace}/{deployment.Metadata.Name} deleted");
            return 0;
        }));
        return command;
    }

    private static Command CreateBlessings()
    {
        var pod = new Option<string>("--pod") { Description = "Pod as namespace/name", Required = true };
        var command = new Command("blessings", "Show the blessing a pod holds (from its annotations and pod-agent status)");
        command.Options.Add(pod);
        command.SetAction(async (result, ct) => await Guard(async () =>
        {
            var parts = result.GetRequiredValue(pod).Split('/', 2);
            var (@namespace, name) = parts.Length == 2 ? (parts[0], parts[1]) : ("default", parts[0]);
            using var kube = KubeClient();
            var found = await kube.CoreV1.ReadNamespacedPodAsync(name, @namespace, cancellationToken: ct);
            var annotations = found.Metadata.Annotations ?? new Dictionary<string, string>();
            if (!annotations.TryGetValue(SidecarsAnnotations.Blessing, out var extension))
            {
                Console.Out.WriteLine($"pod {@namespace}/{name} has no blessing (annotation {SidecarsAnnotations.Blessing} is absent)");
                return 1;
            }

            var agentStatus = found.Status?.ContainerStatuses?.FirstOrDefault(s => s.Name == SidecarsNames.PodAgentContainer);
            Console.Out.WriteLine($"pod:        {@namespace}/{name}");
            Console.Out.WriteLine($"blessing:   <root>:{extension}:{name}");
            Console.Out.WriteLine($"secret:     {(annotations.TryGetValue(SidecarsAnnotations.BlessingSecret, out var secretName) ? secretName : SidecarsNames.DefaultSecretName(extension))}");
            Console.Out.WriteLine($"pod-agent:  {(agentStatus is null ? "not injected" : agentStatus.Ready ? "ready (holds a valid blessing)" : "not ready")}");
            return 0;
        }));
        return command;
    }

    private static k8s.Kubernetes KubeClient() => Configuration.CliKubernetes.Client();

    /// <summary>The namespace's labels; null when the caller may not read namespaces (the webhook then decides alone).</summary>
    private static async Task<IReadOnlyDictionary<string, string>?> NamespaceLabelsAsync(k8s.Kubernetes kube, string @namespace, CancellationToken ct)
    {
        try
        {
            var found = await kube.CoreV1.ReadNamespaceAsync(@namespace, cancellationToken: ct);
            return found.Metadata.Labels as IReadOnlyDictionary<string, string>;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Running pods of the Deployment's current template that have no pod-agent container.</summary>
    private static async Task<IReadOnlyList<string>> PodsWithoutAgentAsync(k8s.Kubernetes kube, V1Deployment deployment, CancellationToken ct)
    {
        var selector = string.Join(",", deployment.Spec.Selector.MatchLabels.Select(kv => $"{kv.Key}={kv.Value}"));
        var pods = await kube.CoreV1.ListNamespacedPodAsync(deployment.Metadata.NamespaceProperty, labelSelector: selector, cancellationToken: ct);
        return pods.Items
            .Where(p => p.Metadata.DeletionTimestamp is null && p.Status?.Phase is not ("Succeeded" or "Failed"))
            .Where(p => !p.Spec.Containers.Concat(p.Spec.InitContainers ?? []).Any(c => c.Name == SidecarsNames.PodAgentContainer))
            .Select(p => p.Metadata.Name)
            .ToList();
    }

    private static V1Secret AppSecret(string @namespace, string name, string value) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = @namespace,
            Labels = new Dictionary<string, string> { [SidecarsLabels.ManagedBy] = SidecarsLabels.ManagedByValue },
        },
        Type = "Opaque",
        Data = new Dictionary<string, byte[]> { [SidecarsNames.SecretKey] = Encoding.UTF8.GetBytes(value) },
    };

    private static async Task<int> Guard(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (RpcException e)
        {
            Console.Error.WriteLine($"error: the cluster agent refused ({e.StatusCode}): {e.Status.Detail}");
            return 1;
        }
        catch (Exception e) when (e is HttpOperationException or IOException or InvalidDataException or System.Security.Cryptography.CryptographicException or YamlDotNet.Core.YamlException)
        {
            var detail = e is HttpOperationException h ? $"{h.Response.StatusCode}: {h.Response.Content}" : e.Message;
            Console.Error.WriteLine("error: " + detail);
            return 1;
        }
        catch (TimeoutException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("error: timed out");
            return 1;
        }
    }
}
