using System.Globalization;
using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Sidecars.Conventions;

namespace Sidecars.Identity.Store;

/// <summary>
/// Identity state in Kubernetes Secrets of one namespace, so several cluster-agent replicas share it: the root
/// in <c>sidecars-identity-root</c>, each application secret's hash in <c>sidecars-identity-&lt;hash&gt;</c>
/// (a lookup is a read by a name derived from the hash). All are labelled managed-by sidecars.
/// </summary>
public sealed class KubernetesIdentityStore : IIdentityStore
{
    public const string RootSecretName = "sidecars-identity-root";
    public const string KindLabel = "sidecars.io/identity";

    private readonly IKubernetes _client;
    private readonly string _namespace;

    public KubernetesIdentityStore(IKubernetes client, string @namespace)
    {
        _client = client;
        _namespace = @namespace;
    }

    public async Task<RootRecord?> GetRootAsync(CancellationToken cancellationToken)
    {
        var secret = await ReadAsync(RootSecretName, cancellationToken);
        if (secret?.Data is not { } data)
        {
            return null;
        }

        return new RootRecord(
            Encoding.UTF8.GetString(data["blessing"]),
            data["certificate"],
            data["key"],
            DateTimeOffset.Parse(Encoding.UTF8.GetString(data["claimedAt"]), CultureInfo.InvariantCulture));
    }

    public async Task<bool> TryCreateRootAsync(RootRecord root, CancellationToken cancellationToken)
    {
        var secret = NewSecret(RootSecretName, "root", new Dictionary<string, byte[]>
        {
            ["blessing"] = Encoding.UTF8.GetBytes(root.Blessing),
            ["certificate"] = root.Certificate,
            ["key"] = root.PrivateKey,
            ["claimedAt"] = Encoding.UTF8.GetBytes(root.ClaimedAt.ToString("O", CultureInfo.InvariantCulture)),
        });
        try
        {
            await _client.CoreV1.CreateNamespacedSecretAsync(secret, _namespace, cancellationToken: cancellationToken);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    public async Task<SecretRecord?> FindSecretAsync(string hash, CancellationToken cancellationToken)
    {
        var secret = await ReadAsync(SecretName(hash), cancellationToken);
        if (secret?.Data is not { } data || !data.TryGetValue("hash", out var stored) || Encoding.UTF8.GetString(stored) != hash)
        {
            return null;
        }

        return new SecretRecord(
            hash,
            Encoding.UTF8.GetString(data["extension"]),
            DateTimeOffset.Parse(Encoding.UTF8.GetString(data["createdAt"]), CultureInfo.InvariantCulture));
    }

    public async Task AddSecretAsync(SecretRecord secret, CancellationToken cancellationToken)
    {
        var body = NewSecret(SecretName(secret.Hash), "secret", new Dictionary<string, byte[]>
        {
            ["hash"] = Encoding.UTF8.GetBytes(secret.Hash),
            ["extension"] = Encoding.UTF8.GetBytes(secret.Extension),
            ["createdAt"] = Encoding.UTF8.GetBytes(secret.CreatedAt.ToString("O", CultureInfo.InvariantCulture)),
        });
        await _client.CoreV1.CreateNamespacedSecretAsync(body, _namespace, cancellationToken: cancellationToken);
    }

    public async Task<SecretRecord?> RemoveSecretAsync(string hash, CancellationToken cancellationToken)
    {
        var existing = await FindSecretAsync(hash, cancellationToken);
        if (existing is null)
        {
            return null;
        }

        try
        {
            await _client.CoreV1.DeleteNamespacedSecretAsync(SecretName(hash), _namespace, cancellationToken: cancellationToken);
            return existing;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    internal static string SecretName(string hash) => "sidecars-identity-" + hash;

    private async Task<V1Secret?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.CoreV1.ReadNamespacedSecretAsync(name, _namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private V1Secret NewSecret(string name, string kind, Dictionary<string, byte[]> data) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = _namespace,
            Labels = new Dictionary<string, string>
            {
                [SidecarsLabels.ManagedBy] = SidecarsLabels.ManagedByValue,
                [KindLabel] = kind,
            },
        },
        Type = "Opaque",
        Data = data,
    };
}
