using System.Diagnostics;
using k8s;
using k8s.Models;
using Sidecars.Conventions;

namespace Sidecars.Testing.Lightpeer;

/// <summary>Deployments of lightpeer pods, run by the simulated kubelet as real agent processes.</summary>
public static class LightpeerWorkloads
{
    /// <param name="tls">
    /// Mount the namespace's identity Secret (optional) and serve mutual TLS (<c>--tls-dir</c>), as injected lightpeers
    /// do: the pods start at once, and their lightpeers answer once the cluster agent has issued the Secret.
    /// </param>
    /// <param name="lightpeerArguments">More arguments for the lightpeer (later ones win over the defaults here).</param>
    public static V1Deployment Deployment(string name, string network, int replicas, bool tls = true, params string[] lightpeerArguments) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1DeploymentSpec
        {
            Replicas = replicas,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name, [SidecarsLabels.NetworkId] = network } },
                Spec = new V1PodSpec
                {
                    TerminationGracePeriodSeconds = 1,
                    Volumes = tls
                        ? [new V1Volume { Name = SidecarsNames.LightpeerIdentityVolume, Secret = new V1SecretVolumeSource { SecretName = SidecarsNames.LightpeerIdentitySecret, Optional = true } }]
                        : null,
                    Containers =
                    [
                        new V1Container
                        {
                            Name = SidecarsNames.LightpeerContainer,
                            Image = "localregistry/sidecars/agent:latest",
                            Args = tls
                                ? ["lightpeer", "--check-interval", "5", "--call-timeout", "3", "--tls-dir", SidecarsNames.LightpeerIdentityDirectory, .. lightpeerArguments]
                                : ["lightpeer", "--check-interval", "5", "--call-timeout", "3", .. lightpeerArguments],
                            VolumeMounts = tls
                                ? [new V1VolumeMount { Name = SidecarsNames.LightpeerIdentityVolume, MountPath = SidecarsNames.LightpeerIdentityDirectory, ReadOnlyProperty = true }]
                                : null,
                            Env = [new V1EnvVar { Name = SidecarsNames.PodIpEnv, ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } } }],
                            Ports =
                            [
                                new V1ContainerPort { Name = SidecarsNames.LightpeerPortName, ContainerPort = SidecarsNames.LightpeerDefaultPort },
                                new V1ContainerPort { Name = SidecarsNames.LightpeerHealthPortName, ContainerPort = SidecarsNames.LightpeerHealthPort },
                            ],
                            ReadinessProbe = new V1Probe
                            {
                                HttpGet = new V1HTTPGetAction { Path = "/readyz", Port = SidecarsNames.LightpeerHealthPort },
                                PeriodSeconds = 1,
                            },
                        },
                    ],
                },
            },
        },
    };

    /// <summary>Ids of the processes the kubelet started for the pod (their working directory is the pod's directory).</summary>
    public static IReadOnlyList<int> ProcessesOf(string podDirectory)
    {
        var target = Path.GetFullPath(podDirectory).TrimEnd('/');
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var cwd = new FileInfo(Path.Combine(dir, "cwd")).LinkTarget;
                if (cwd is not null && cwd.TrimEnd('/') == target)
                {
                    result.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended or is not ours.
            }
        }

        return result;
    }

    /// <summary>Sends a signal (STOP, CONT) to one process by id.</summary>
    public static async Task SignalAsync(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {pid} failed with exit code {kill.ExitCode}");
        }
    }
}
