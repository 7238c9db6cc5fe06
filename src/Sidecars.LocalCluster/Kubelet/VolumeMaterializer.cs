using System.Text;
using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>
/// Creates a local directory per pod volume: emptyDir (and anything unsupported) is an empty directory, secret and
/// configMap volumes hold one file per key (or per item), written and later updated through <see cref="AtomicVolumeWriter"/>, downwardAPI and projected volumes their files (projected
/// service-account tokens through <see cref="ProjectedTokens"/>).
/// </summary>
internal static class VolumeMaterializer
{
    public static async Task<Dictionary<string, string>> MaterializeAsync(
        V1Pod pod, string podDirectory, ObjectReader reader, ProjectedTokens tokens, CancellationToken ct)
    {
        var volumes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var volume in pod.Spec.Volumes ?? [])
        {
            var directory = Path.Combine(podDirectory, "volumes", volume.Name);
            Directory.CreateDirectory(directory);
            if (await PayloadAsync(volume, reader, ct) is { } payload)
            {
                await AtomicVolumeWriter.WriteAsync(directory, payload, ct);
            }
            else if (volume.DownwardAPI is { } downward)
            {
                await WriteDownwardAsync(directory, pod, downward.Items, ct);
            }
            else if (volume.Projected is { } projected)
            {
                foreach (var source in projected.Sources ?? [])
                {
                    if (source.Secret is { } s)
                    {
                        await WriteKeysAsync(directory, await reader.ReadAsync("Secret", s.Name, s.Optional == true, ct), s.Items, ct);
                    }
                    else if (source.ConfigMap is { } c)
                    {
                        await WriteKeysAsync(directory, await reader.ReadAsync("ConfigMap", c.Name, c.Optional == true, ct), c.Items, ct);
                    }
                    else if (source.DownwardAPI is { } d)
                    {
                        await WriteDownwardAsync(directory, pod, d.Items, ct);
                    }
                    else if (source.ServiceAccountToken is { } t)
                    {
                        await tokens.AddAsync(SafeCombine(directory, t.Path), t, ct);
                    }
                }
            }

            volumes[volume.Name] = directory;
        }

        return volumes;
    }

    /// <summary>
    /// Brings the pod's Secret and ConfigMap volumes up to date with their objects, as the kubelet does on every pod sync
    /// (an atomic <c>..data</c> switch per changed volume); an optional object that is gone empties its volume, a
    /// required one that is gone (or unreadable) leaves the files as they are. Returns the volumes that changed.
    /// </summary>
    public static async Task<IReadOnlyList<string>> SyncAsync(V1Pod pod, string podDirectory, ObjectReader reader, CancellationToken ct)
    {
        var changed = new List<string>();
        foreach (var volume in pod.Spec.Volumes ?? [])
        {
            IReadOnlyDictionary<string, byte[]>? payload;
            try
            {
                payload = await PayloadAsync(volume, reader, ct);
            }
            catch (PodSetupException)
            {
                continue;
            }

            if (payload is not null && await AtomicVolumeWriter.WriteAsync(Path.Combine(podDirectory, "volumes", volume.Name), payload, ct))
            {
                changed.Add(volume.Name);
            }
        }

        return changed;
    }

    /// <summary>The container's mount paths mapped to local directories (subPath honoured).</summary>
    public static Dictionary<string, string> MountsOf(V1Container container, IReadOnlyDictionary<string, string> volumes)
    {
        var mounts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var mount in container.VolumeMounts ?? [])
        {
            if (!volumes.TryGetValue(mount.Name, out var directory))
            {
                throw new PodSetupException($"container {container.Name} mounts unknown volume {mount.Name}");
            }

            if (!string.IsNullOrEmpty(mount.SubPath))
            {
                directory = SafeCombine(directory, mount.SubPath);
                Directory.CreateDirectory(directory);
            }

            mounts[mount.MountPath] = directory;
        }

        return mounts;
    }

    /// <summary>The files of a Secret or ConfigMap volume (relative path → bytes); null for any other kind of volume.</summary>
    private static async Task<IReadOnlyDictionary<string, byte[]>?> PayloadAsync(V1Volume volume, ObjectReader reader, CancellationToken ct)
    {
        return volume switch
        {
            { Secret: { } secret } => Files(await reader.ReadAsync("Secret", secret.SecretName, secret.Optional == true, ct), secret.Items),
            { ConfigMap: { } configMap } => Files(await reader.ReadAsync("ConfigMap", configMap.Name, configMap.Optional == true, ct), configMap.Items),
            _ => null,
        };
    }

    /// <summary>The files of a Secret's or ConfigMap's data: one per key, or one per item (relative path → bytes).</summary>
    private static Dictionary<string, byte[]> Files(IDictionary<string, byte[]>? data, IList<V1KeyToPath>? items)
    {
        var payload = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (data is null)
        {
            return payload;
        }

        var files = items is { Count: > 0 }
            ? items.Select(i => (i.Key, i.Path))
            : data.Keys.Select(k => (Key: k, Path: k));
        foreach (var (key, path) in files)
        {
            if (!data.TryGetValue(key, out var bytes))
            {
                throw new PodSetupException($"key {key} not found for volume item {path}");
            }

            _ = SafeCombine("/", path);
            payload[path] = bytes;
        }

        return payload;
    }

    private static async Task WriteKeysAsync(string directory, IDictionary<string, byte[]>? data, IList<V1KeyToPath>? items, CancellationToken ct)
    {
        foreach (var (path, bytes) in Files(data, items))
        {
            var file = SafeCombine(directory, path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await File.WriteAllBytesAsync(file, bytes, ct);
        }
    }

    private static async Task WriteDownwardAsync(string directory, V1Pod pod, IList<V1DownwardAPIVolumeFile>? items, CancellationToken ct)
    {
        foreach (var item in items ?? [])
        {
            if (item.FieldRef is null)
            {
                continue;
            }

            var value = item.FieldRef.FieldPath switch
            {
                "metadata.labels" => FormatMap(pod.Metadata.Labels),
                "metadata.annotations" => FormatMap(pod.Metadata.Annotations),
                var path => FieldPaths.Resolve(pod, path, podIp: pod.Status?.PodIP ?? string.Empty) ?? string.Empty,
            };
            var file = SafeCombine(directory, item.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await File.WriteAllTextAsync(file, value, ct);
        }
    }

    private static string FormatMap(IDictionary<string, string>? map)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in (map ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(key).Append("=\"").Append(value.Replace("\"", "\\\"", StringComparison.Ordinal)).Append("\"\n");
        }

        return text.ToString();
    }

    private static string SafeCombine(string directory, string relative)
    {
        if (Path.IsPathRooted(relative) || relative.Split('/').Contains(".."))
        {
            throw new PodSetupException($"path {relative} must be relative and must not contain '..'");
        }

        return Path.Combine(directory, relative);
    }
}
