using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Sidecars.Certificates.Issuing;
using Sidecars.Conventions;
using Sidecars.Kubernetes;

namespace Sidecars.Certificates.Rotation;

/// <summary>
/// One TLS Secret a component issues for itself: read it, and (on the elected replica) replace what is due with the
/// <see cref="RotationPlanner"/>'s next material. Every write carries the resourceVersion read, so of two writers one
/// fails and takes the other's material on its next pass.
/// </summary>
public sealed class TlsSecretRotation(KubernetesConnection client, string @namespace, string secretName, TlsSecretLayout layout, ServingCertificatePolicy policy, TimeProvider time)
{
    public string Namespace => @namespace;

    public string SecretName => secretName;

    /// <summary>The material stored now (empty when the Secret does not exist yet).</summary>
    public async Task<TlsMaterial> ReadAsync(CancellationToken cancellationToken) =>
        TlsMaterial.FromData((await ReadSecretAsync(cancellationToken))?.Data, layout);

    /// <summary>
    /// Issues what is due and stores it; <paramref name="beforeStore"/> gets the new bundle first, so that no client
    /// meets a certificate from a CA it does not trust yet. Returns the material in force and whether it changed.
    /// </summary>
    public async Task<(TlsMaterial Material, bool Changed)> RotateAsync(Func<string, CancellationToken, Task>? beforeStore, CancellationToken cancellationToken)
    {
        var secret = await ReadSecretAsync(cancellationToken);
        var current = TlsMaterial.FromData(secret?.Data, layout);
        var planned = RotationPlanner.Plan(current, time.GetUtcNow(), policy);
        if (planned.SameAs(current))
        {
            return (current, false);
        }

        if (beforeStore is not null)
        {
            await beforeStore(planned.Bundle, cancellationToken);
        }

        await StoreAsync(secret, planned, cancellationToken);
        return (planned, true);
    }

    private async Task<V1Secret?> ReadSecretAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await client.GetAsync(KubernetesRequests.ObjectPath("", "v1", "secrets", @namespace, secretName), KubernetesJsonMetadata.Secret, cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task StoreAsync(V1Secret? existing, TlsMaterial material, CancellationToken cancellationToken)
    {
        var secret = existing ?? new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = secretName,
                NamespaceProperty = @namespace,
                Labels = new Dictionary<string, string> { [SidecarsLabels.ManagedBy] = SidecarsLabels.ManagedByValue },
            },
            Type = "kubernetes.io/tls",
        };
        secret.Data = material.ToData(layout);
        if (existing is null)
        {
            await client.CreateAsync(KubernetesWatch.CollectionPath("", "v1", "secrets", @namespace), secret, KubernetesJsonMetadata.Secret, cancellationToken);
        }
        else
        {
            await client.ReplaceAsync(KubernetesRequests.ObjectPath("", "v1", "secrets", @namespace, secretName), secret, KubernetesJsonMetadata.Secret, cancellationToken);
        }
    }
}
