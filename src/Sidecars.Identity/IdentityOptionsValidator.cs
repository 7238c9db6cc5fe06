using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace Sidecars.Identity;

/// <summary>Rules spanning fields of <see cref="IdentityOptions"/>.</summary>
/// <param name="kubernetesConfigured">Whether a cluster can be reached (<c>KubernetesAvailability.IsConfigured</c>).</param>
internal sealed class IdentityOptionsValidator(bool kubernetesConfigured) : IValidateOptions<IdentityOptions>
{
    public ValidateOptionsResult Validate(string? name, IdentityOptions options)
    {
        var failures = new List<string>();
        if (!kubernetesConfigured && options.Store == IdentityStoreKind.Kubernetes)
        {
            failures.Add($"{IdentityOptions.Section}:Store is Kubernetes but no cluster is configured (Sidecars:Kubernetes:KubeconfigPath, KUBECONFIG or in-cluster)");
        }

        if (!kubernetesConfigured && options.TokenReview)
        {
            failures.Add($"{IdentityOptions.Section}:TokenReview needs a cluster, and none is configured");
        }

        if (!kubernetesConfigured && options.ReplicaAttestation == ReplicaAttestation.PodToken)
        {
            failures.Add($"{IdentityOptions.Section}:ReplicaAttestation is PodToken (the default), which reviews pod tokens with " +
                "the cluster, and none is configured; outside a cluster set it to SecretOnly (any holder of a secret can then " +
                "obtain any replica name of its application)");
        }

        if (options.Store == IdentityStoreKind.File && string.IsNullOrWhiteSpace(options.FilePath))
        {
            failures.Add($"{IdentityOptions.Section}:FilePath is required for the file store");
        }

        if (!string.IsNullOrEmpty(options.AdminClientCaFile))
        {
            try
            {
                var collection = new X509Certificate2Collection();
                collection.ImportFromPemFile(options.AdminClientCaFile);
                if (collection.Count == 0)
                {
                    failures.Add($"{IdentityOptions.Section}:AdminClientCaFile '{options.AdminClientCaFile}' holds no certificate");
                }
            }
            catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException)
            {
                failures.Add($"{IdentityOptions.Section}:AdminClientCaFile '{options.AdminClientCaFile}' cannot be read: {e.Message}");
            }
        }

        if (options.TokenReview && options.AdminUsers.Count == 0)
        {
            failures.Add($"{IdentityOptions.Section}:AdminUsers must list at least one user when TokenReview is on");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
