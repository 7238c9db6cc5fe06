using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace Sidecars.PodAgent;

/// <summary>The channel to the cluster agent: TLS trusting the configured CA, or plaintext HTTP/2 where allowed.</summary>
internal static class ClusterAgentChannel
{
    public static GrpcChannel Create(PodAgentOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        if (!string.IsNullOrEmpty(options.ClusterAgentCa))
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(options.ClusterAgentCa);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => Sidecars.AgentLifecycle.PrivateRootTrust.IsTrusted(certificate as X509Certificate2, errors, roots);
        }

        return GrpcChannel.ForAddress(options.ClusterAgent!, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }
}
