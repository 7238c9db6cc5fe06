using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>Reads the Secrets and ConfigMaps one pod start needs, each at most once, as key → bytes.</summary>
internal sealed class ObjectReader
{
    private readonly IKubernetes _client;
    private readonly string _namespace;
    private readonly Dictionary<string, IDictionary<string, byte[]>?> _cache = new(StringComparer.Ordinal);

    public ObjectReader(IKubernetes client, string ns)
    {
        _client = client;
        _namespace = ns;
    }

    /// <summary>The object's data, or null when it does not exist and <paramref name="optional"/>.</summary>
    public async Task<IDictionary<string, byte[]>?> ReadAsync(string kind, string name, bool optional, CancellationToken ct)
    {
        var key = kind + "/" + name;
        if (!_cache.TryGetValue(key, out var data))
        {
            data = await FetchAsync(kind, name, ct);
            _cache[key] = data;
        }

        return data is not null || optional
            ? data
            : throw new PodSetupException($"{kind} {_namespace}/{name} not found");
    }

    private async Task<IDictionary<string, byte[]>?> FetchAsync(string kind, string name, CancellationToken ct)
    {
        try
        {
            if (kind == "Secret")
            {
                var secret = await _client.CoreV1.ReadNamespacedSecretAsync(name, _namespace, cancellationToken: ct);
                return secret.Data ?? new Dictionary<string, byte[]>();
            }

            var configMap = await _client.CoreV1.ReadNamespacedConfigMapAsync(name, _namespace, cancellationToken: ct);
            var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var (k, v) in configMap.Data ?? new Dictionary<string, string>())
            {
                data[k] = Encoding.UTF8.GetBytes(v);
            }

            foreach (var (k, v) in configMap.BinaryData ?? new Dictionary<string, byte[]>())
            {
                data[k] = v;
            }

            return data;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
