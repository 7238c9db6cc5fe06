using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Kubernetes;
using Sidecars.Certificates.Issuing;

namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>
/// The cluster agent's HTTPS serving side as a test drives it: CAs made with the project's certificate code, the
/// Secret <c>sidecars-cluster-agent-tls</c> (ca.crt, tls.crt, tls.key) in its own namespace, and the serving
/// certificate handed to each new connection.
/// </summary>
internal sealed class ClusterAgentTls
{
    private X509Certificate2? _serving;

    public ClusterAgentTls(string @namespace) => Namespace = @namespace;

    public string Namespace { get; }

    /// <summary>The certificate new connections get.</summary>
    public X509Certificate2 Current => Volatile.Read(ref _serving) ?? throw new InvalidOperationException("nothing served yet");

    public static PemPair NewAuthority(string name) =>
        CertificateIssuer.CreateAuthority(name, DateTimeOffset.UtcNow.AddMinutes(-1), TimeSpan.FromDays(1));

    public static string Bundle(params PemPair[] authorities) => string.Concat(authorities.Select(a => a.CertificatePem.TrimEnd() + "\n"));

    /// <summary>From now on, new connections get a serving certificate (for 127.0.0.1) issued by <paramref name="authority"/>.</summary>
    public PemPair Serve(PemPair authority)
    {
        var pair = CertificateIssuer.IssueServing(authority, [], [IPAddress.Loopback], DateTimeOffset.UtcNow.AddMinutes(-1), TimeSpan.FromHours(1));
        using var loaded = pair.Load();
        Volatile.Write(ref _serving, X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null));
        return pair;
    }

    /// <summary>Writes the Secret as the cluster agent keeps it: the bundle pods must trust and the serving pair.</summary>
    public Task PublishAsync(IKubernetes client, string bundle, PemPair serving) =>
        client.ApplyAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = SidecarsNames.ClusterAgentTlsSecret, NamespaceProperty = Namespace },
            Type = "kubernetes.io/tls",
            Data = new Dictionary<string, byte[]>
            {
                [SidecarsNames.ClusterAgentCaKey] = Encoding.UTF8.GetBytes(bundle),
                [SidecarsNames.ClusterAgentTlsCertificateKey] = Encoding.UTF8.GetBytes(serving.CertificatePem),
                [SidecarsNames.ClusterAgentTlsKeyKey] = Encoding.UTF8.GetBytes(serving.KeyPem),
            },
        }, CancellationToken.None);
}
