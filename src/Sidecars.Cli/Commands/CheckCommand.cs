using System.CommandLine;
using k8s.Exceptions;
using Sidecars.Cli.Check;
using Sidecars.Kubernetes;

namespace Sidecars.Cli.Commands;

/// <summary><c>check</c>: verifies an install on a live cluster and explains each finding; non-zero exit on any failure.</summary>
internal static class CheckCommand
{
    public static void AddTo(RootCommand root)
    {
        var ns = new Option<string>("--namespace", "-n") { Description = "Namespace Sidecars is installed in", DefaultValueFactory = _ => InstalledComponents.DefaultNamespace };
        var configuration = new Option<string>("--webhook-configuration")
        {
            Description = "Name of the MutatingWebhookConfiguration",
            DefaultValueFactory = _ => InstalledComponents.WebhookConfiguration,
        };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "Kubeconfig of the cluster (default: the settings file's kubeconfig and context, else $KUBECONFIG, then ~/.kube/config)" };
        var command = new Command("check", "Check an install on a live cluster: webhook, certificates, cluster agent, leaders, RBAC, namespaces and pods");
        command.Options.Add(ns);
        command.Options.Add(configuration);
        command.Options.Add(kubeconfig);
        command.SetAction(async (result, ct) =>
        {
            k8s.Kubernetes client;
            try
            {
                var path = result.GetValue(kubeconfig);
                client = path is null ? Configuration.CliKubernetes.Client() : new k8s.Kubernetes(KubernetesClientConfig.BuildExplicit(path)
                    ?? throw new KubeConfigException($"kubeconfig {path} not found"));
            }
            catch (KubeConfigException e)
            {
                await Console.Error.WriteLineAsync("error: no usable kubeconfig: " + e.Message);
                return 2;
            }

            using (client)
            {
                var lines = await new InstallCheck(client, result.GetRequiredValue(ns), result.GetRequiredValue(configuration), TimeProvider.System).RunAsync(ct);
                foreach (var line in lines)
                {
                    await Console.Out.WriteLineAsync(line.ToString());
                }

                var failed = lines.Count(l => l.Status == CheckStatus.Fail);
                await Console.Out.WriteLineAsync(failed == 0 ? "check passed" : $"check failed: {failed} problem{(failed == 1 ? string.Empty : "s")}");
                return failed == 0 ? 0 : 1;
            }
        });
        root.Subcommands.Add(command);
    }
}
