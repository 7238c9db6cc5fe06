using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Sidecars.AgentLifecycle;

namespace Sidecars.PodAgent;

/// <summary>
/// The channel to the cluster agent: TLS trusting only the configured CA bundle (read again for every new connection,
/// so a rotated bundle applies without a restart), or plaintext HTTP/2 where allowed.
/// </summary>
internal static partial class ClusterAgentChannel
{
    /// <summary>Connections are made anew this often, so a server certificate is checked against the bundle of the day.</summary>
    private static readonly TimeSpan ConnectionLifetime = TimeSpan.FromMinutes(10);

    public static GrpcChannel Create(PodAgentOptions options, ILogger logger)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            PooledConnectionLifetime = ConnectionLifetime,
        };
        if (!string.IsNullOrEmpty(options.ClusterAgentCa))
        {
            var bundle = new TrustBundle(options.ClusterAgentCa);
            var address = options.ClusterAgent!.ToString();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (bundle.Check(certificate as X509Certificate2, errors) is not { } reason)
                {
                    return true;
                }

                Refused(logger, address, reason);
                return false;
            };
        }

        return GrpcChannel.ForAddress(options.ClusterAgent!, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    [LoggerMessage(10, LogLevel.Error, "Not trusting the cluster agent at {Address}: {Reason}")]
    private static partial void Refused(ILogger logger, string address, string reason);
}
