using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Authentication;

namespace Sidecars.Kubernetes;

/// <summary>
/// An authenticated HTTP connection to the apiserver, for <see cref="KubernetesRequests"/> and
/// <see cref="KubernetesWatch"/>. Either the connection of a client (<see cref="Of"/>), or one built straight from a
/// configuration (<see cref="Create"/>) by a process that calls no generated operation: constructing the client
/// completes its serializer, which links metadata for every kind of the API into a NativeAOT binary.
/// </summary>
public sealed class KubernetesConnection : IDisposable
{
    private readonly bool _owned;

    private KubernetesConnection(Uri baseUri, HttpClient http, ServiceClientCredentials? credentials, bool owned)
    {
        var root = baseUri.AbsoluteUri;
        BaseUri = new Uri(root.EndsWith('/') ? root : root + "/");
        Http = http;
        Credentials = credentials;
        _owned = owned;
    }

    /// <summary>The apiserver's address, ending in '/': request paths are relative to it.</summary>
    public Uri BaseUri { get; }

    public HttpClient Http { get; }

    /// <summary>What authenticates each request (a bearer token, re-read when it is a file), or none.</summary>
    public ServiceClientCredentials? Credentials { get; }

    /// <summary>The connection <paramref name="client"/> uses (not owned: the client disposes it).</summary>
    public static KubernetesConnection Of(IKubernetes client)
    {
        ArgumentNullException.ThrowIfNull(client);
        var http = client as k8s.Kubernetes
            ?? throw new ArgumentException($"a connection needs the HTTP client of {typeof(k8s.Kubernetes).FullName}", nameof(client));
        return new KubernetesConnection(http.BaseUri, http.HttpClient, http.Credentials, owned: false);
    }

    /// <summary>
    /// A connection as the client would make it from <paramref name="configuration"/>: the apiserver verified against
    /// the configured CA (a configuration without one, or that skips verification, is refused), the client
    /// certificate, token or basic credentials,
    /// HTTP/2 pings on long requests, no overall timeout (watches stay open).
    /// </summary>
    public static KubernetesConnection Create(KubernetesClientConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (string.IsNullOrWhiteSpace(configuration.Host))
        {
            throw new ArgumentException("the configuration names no apiserver", nameof(configuration));
        }

        var baseUri = new Uri(configuration.Host);
        var handler = new SocketsHttpHandler
        {
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            KeepAlivePingDelay = TimeSpan.FromMinutes(3),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            SslOptions = new SslClientAuthenticationOptions { ClientCertificates = [] },
        };
        if (baseUri.Scheme == Uri.UriSchemeHttps)
        {
            // It reads and writes Secrets: an apiserver it cannot verify is refused, not trusted.
            var authorities = configuration.SkipTlsVerify || configuration.SslCaCerts is not { Count: > 0 }
                ? throw new ArgumentException("the configuration names no CA for the apiserver or skips its verification; a connection needs the CA", nameof(configuration))
                : configuration.SslCaCerts;
            handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                certificate is not null && chain is not null
                && k8s.Kubernetes.CertificateValidationCallBack(sender, authorities, certificate, chain, errors);
        }

        if (ClientCertificate(configuration) is { } certificate)
        {
            handler.SslOptions.ClientCertificates!.Add(certificate);
        }

        var http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        return new KubernetesConnection(baseUri, http, k8s.Kubernetes.CreateCredentials(configuration), owned: true);
    }

    /// <summary>The client certificate and key of the configuration (inline or in files, PEM), or none.</summary>
    private static X509Certificate2? ClientCertificate(KubernetesClientConfiguration configuration)
    {
        var certificate = Pem(configuration.ClientCertificateData, configuration.ClientCertificateFilePath);
        var key = Pem(configuration.ClientCertificateKeyData, configuration.ClientKeyFilePath);
        return certificate is null || key is null ? null : X509Certificate2.CreateFromPem(certificate, key);

        static string? Pem(string? base64, string? path) =>
            !string.IsNullOrEmpty(base64) ? Encoding.UTF8.GetString(Convert.FromBase64String(base64))
            : !string.IsNullOrEmpty(path) ? File.ReadAllText(path)
            : null;
    }

    public void Dispose()
    {
        if (_owned)
        {
            Http.Dispose();
        }
    }
}
