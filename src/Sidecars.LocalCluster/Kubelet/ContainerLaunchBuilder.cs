using System.Globalization;
using System.Text;
using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>
/// Resolves a container's environment (value, fieldRef, secretKeyRef, configMapKeyRef, envFrom, <c>$(VAR)</c>) and
/// its command and args, then rewrites every value under a volume mountPath to the volume's local directory.
/// </summary>
internal static class ContainerLaunchBuilder
{
    public static async Task<ContainerLaunch> BuildAsync(
        V1Pod pod,
        V1Container container,
        string podIp,
        string podDirectory,
        IReadOnlyDictionary<string, string> volumes,
        Uri? apiServer,
        ObjectReader reader,
        CancellationToken ct)
    {
        var mounts = VolumeMaterializer.MountsOf(container, volumes);
        var rewriter = new MountPathRewriter(mounts);
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (apiServer is not null)
        {
            // What a real kubelet injects for the "kubernetes" Service, pointing straight at the apiserver.
            env["KUBERNETES_SERVICE_HOST"] = apiServer.Host;
            env["KUBERNETES_SERVICE_PORT"] = apiServer.Port.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var source in container.EnvFrom ?? [])
        {
            var data = source.SecretRef is { } secretRef
                ? await reader.ReadAsync("Secret", secretRef.Name, secretRef.Optional == true, ct)
                : source.ConfigMapRef is { } configMapRef
                    ? await reader.ReadAsync("ConfigMap", configMapRef.Name, configMapRef.Optional == true, ct)
                    : null;
            foreach (var (key, value) in data ?? new Dictionary<string, byte[]>())
            {
                env[(source.Prefix ?? string.Empty) + key] = Encoding.UTF8.GetString(value);
            }
        }

        foreach (var variable in container.Env ?? [])
        {
            var value = await ResolveAsync(pod, variable, podIp, env, reader, ct);
            if (value is not null)
            {
                env[variable.Name] = value;
            }
        }

        var environment = env.ToDictionary(p => p.Key, p => rewriter.Rewrite(p.Value), StringComparer.Ordinal);
        IReadOnlyList<string> Expand(IList<string>? values) =>
            (values ?? []).Select(v => rewriter.Rewrite(EnvironmentExpansion.Expand(v, env))).ToArray();

        return new ContainerLaunch
        {
            Pod = pod,
            Container = container,
            Command = Expand(container.Command),
            Args = Expand(container.Args),
            Environment = environment,
            PodIp = podIp,
            PodDirectory = podDirectory,
            Mounts = mounts,
        };
    }

    private static async Task<string?> ResolveAsync(
        V1Pod pod, V1EnvVar variable, string podIp, IReadOnlyDictionary<string, string> env, ObjectReader reader, CancellationToken ct)
    {
        if (variable.ValueFrom is not { } from)
        {
            return EnvironmentExpansion.Expand(variable.Value ?? string.Empty, env);
        }

        if (from.FieldRef is { } fieldRef)
        {
            return FieldPaths.Resolve(pod, fieldRef.FieldPath, podIp)
                ?? throw new PodSetupException($"env {variable.Name}: unsupported fieldPath {fieldRef.FieldPath}");
        }

        if (from.SecretKeyRef is { } secretKey)
        {
            return await KeyAsync(reader, "Secret", secretKey.Name, secretKey.Key, secretKey.Optional == true, variable.Name, ct);
        }

        if (from.ConfigMapKeyRef is { } configMapKey)
        {
            return await KeyAsync(reader, "ConfigMap", configMapKey.Name, configMapKey.Key, configMapKey.Optional == true, variable.Name, ct);
        }

        // resourceFieldRef: resources are not simulated; leave the variable unset.
        return null;
    }

    private static async Task<string?> KeyAsync(
        ObjectReader reader, string kind, string name, string key, bool optional, string variable, CancellationToken ct)
    {
        var data = await reader.ReadAsync(kind, name, optional, ct);
        if (data is not null && data.TryGetValue(key, out var bytes))
        {
            return Encoding.UTF8.GetString(bytes);
        }

        return optional ? null : throw new PodSetupException($"env {variable}: key {key} not found in {kind} {name}");
    }
}
