using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Sidecars.Identity.Blessings;

namespace Sidecars.Testing.Identity;

/// <summary>A TLS 1.3 handshake on loopback where each side requires the other's blessing to chain to the root.</summary>
public static class MutualTls
{
    public static async Task<(string ServerSaw, string ClientSaw)> HandshakeAsync(X509Certificate2 server, X509Certificate2 client, X509Certificate2 root)
    {
        var verifier = new BlessingVerifier([root]);
        string? serverSaw = null, clientSaw = null;
        bool Check(X509Certificate? certificate, ref string? saw)
        {
            if (certificate is not X509Certificate2 leaf)
            {
                return false;
            }

            var result = verifier.Verify(leaf, [], DateTimeOffset.UtcNow);
            saw = result.Name;
            return result.IsValid;
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var accept = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync(timeout.Token);
            await using var tls = new SslStream(socket.GetStream());
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = SslStreamCertificateContext.Create(server, null),
                ClientCertificateRequired = true,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => Check(certificate, ref serverSaw),
            }, timeout.Token);
            await tls.WriteAsync("ok"u8.ToArray(), timeout.Token);
        });

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, timeout.Token);
        await using var stream = new SslStream(tcp.GetStream());
        await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "replica",
            ClientCertificateContext = SslStreamCertificateContext.Create(client, null),
            RemoteCertificateValidationCallback = (_, certificate, _, _) => Check(certificate, ref clientSaw),
        }, timeout.Token);
        var buffer = new byte[2];
        await stream.ReadExactlyAsync(buffer, timeout.Token);
        await accept;
        return (serverSaw!, clientSaw!);
    }
}
