using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Mutation;

namespace Sidecars.Cli.Demo;

/// <summary>What the webhook changed in a stored pod, relative to the pod spec that was applied. Pure.</summary>
internal static class PodChangeReport
{
    public static IReadOnlyList<string> Describe(V1PodSpec applied, V1Pod stored)
    {
        var lines = new List<string>();
        var before = Containers(applied).ToDictionary(c => c.Name, StringComparer.Ordinal);
        foreach (var container in Containers(stored.Spec))
        {
            if (!before.TryGetValue(container.Name, out var original))
            {
                lines.Add($"+ container {container.Name} ({container.Image})");
                continue;
            }

            if (original.Image != container.Image)
            {
                lines.Add($"~ image of {container.Name}: {original.Image} -> {container.Image}");
            }

            var originalEnv = (original.Env ?? []).ToDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal);
            foreach (var env in container.Env ?? [])
            {
                if (!originalEnv.TryGetValue(env.Name, out var value))
                {
                    lines.Add($"+ env {container.Name}.{env.Name}={env.Value ?? "(from field)"}");
                }
                else if (value != env.Value)
                {
                    lines.Add($"~ env {container.Name}.{env.Name}: {value} -> {env.Value}");
                }
            }
        }

        var volumes = (applied.Volumes ?? []).ToDictionary(v => v.Name, StringComparer.Ordinal);
        foreach (var volume in stored.Spec.Volumes ?? [])
        {
            if (volume.Name.StartsWith("default-token-", StringComparison.Ordinal))
            {
                continue;
            }

            if (!volumes.TryGetValue(volume.Name, out var original))
            {
                lines.Add($"+ volume {volume.Name}{Source(volume)}");
            }
            else if (volume.PersistentVolumeClaim is { } claim && original.PersistentVolumeClaim is null)
            {
                lines.Add($"~ volume {volume.Name} -> persistentVolumeClaim {claim.ClaimName}");
            }
        }

        foreach (var secret in stored.Spec.ImagePullSecrets ?? [])
        {
            if (applied.ImagePullSecrets?.Any(s => s.Name == secret.Name) != true)
            {
                lines.Add($"+ imagePullSecret {secret.Name}");
            }
        }

        foreach (var (key, value) in stored.Metadata.Labels ?? new Dictionary<string, string>())
        {
            if (key.StartsWith(SidecarsAnnotations.Prefix, StringComparison.Ordinal))
            {
                lines.Add($"+ label {key}={value}");
            }
        }

        return lines;
    }

    private static IEnumerable<V1Container> Containers(V1PodSpec spec) => (spec.InitContainers ?? []).Concat(spec.Containers ?? []);

    private static string Source(V1Volume volume) => volume switch
    {
        { Secret: { } s } => $" (secret {s.SecretName})",
        { EmptyDir: not null } => " (emptyDir)",
        { PersistentVolumeClaim: { } c } => $" (claim {c.ClaimName})",
        _ => string.Empty,
    };
}
