using System.Security.Cryptography.X509Certificates;

namespace Sidecars.Webhook.Admission;

/// <summary>
/// Which TLS clients may send admission reviews: with <see cref="WebhookOptions.ClientCertificateAuthorityFile"/> set,
/// only a client certificate that chains to that authority (and, when <see cref="WebhookOptions.ClientCertificateNames"/>
/// is not empty, whose common name is one of them); otherwise any client, as Kubernetes' default webhook setup has it.
/// </summary>
public sealed class ApiServerClients : IDisposable
{
    private readonly X509Certificate2Collection? _authorities;
    private readonly HashSet<string> _names;

    public ApiServerClients(WebhookOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrEmpty(options.ClientCertificateAuthorityFile))
        {
            _authorities = [];
            try
            {
                _authorities.ImportFromPemFile(options.ClientCertificateAuthorityFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new InvalidOperationException($"{WebhookOptions.Section}:{nameof(WebhookOptions.ClientCertificateAuthorityFile)}: " +
                    $"cannot read {options.ClientCertificateAuthorityFile}: {e.Message}", e);
            }

            if (_authorities.Count == 0)
            {
                throw new InvalidOperationException($"{WebhookOptions.Section}:{nameof(WebhookOptions.ClientCertificateAuthorityFile)} " +
                    $"({options.ClientCertificateAuthorityFile}) holds no certificate");
            }
        }

        _names = new HashSet<string>(options.ClientCertificateNames, StringComparer.Ordinal);
    }

    /// <summary>Whether client certificates are asked for at all.</summary>
    public bool Required => _authorities is not null;

    /// <summary>Whether <paramref name="certificate"/> may send reviews; when not, <paramref name="reason"/> says why.</summary>
    public bool Allows(X509Certificate2? certificate, out string reason)
    {
        reason = "";
        if (_authorities is null)
        {
            return true;
        }

        if (certificate is null)
        {
            reason = "a client certificate is required (configure the apiserver's AdmissionConfiguration kubeconfig)";
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2"));
        if (!chain.Build(certificate))
        {
            reason = "the client certificate is not issued by the configured authority for client authentication";
            return false;
        }

        var name = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (_names.Count > 0 && !_names.Contains(name))
        {
            reason = $"client certificate name \"{name}\" is not one of the allowed names";
            return false;
        }

        return true;
    }

    public void Dispose()
    {
        foreach (var certificate in _authorities ?? [])
        {
            certificate.Dispose();
        }
    }
}
