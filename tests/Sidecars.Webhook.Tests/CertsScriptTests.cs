using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Sidecars.Testing;

namespace Sidecars.Webhook.Tests;

/// <summary>certs/make-certs.sh makes material the webhook serves with and clients verify against the printed bundle.</summary>
public sealed class CertsScriptTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("sidecars-certs-").FullName;

    [Fact]
    public async Task The_script_output_is_served_by_the_webhook_and_verifies_against_its_bundle()
    {
        var bundle = Convert.FromBase64String((await RunScriptAsync()).Trim());

        var pem = System.Text.Encoding.UTF8.GetString(bundle);
        using var certificates = new TestCertificates();
        File.Copy(Path.Combine(_out, "tls.crt"), certificates.CertificateFile, true);
        File.Copy(Path.Combine(_out, "tls.key"), certificates.KeyFile, true);
        await using var server = await WebhookServer.StartAsync(certificates);
        using var leaf = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_out, "tls.crt")));
        Assert.True(leaf.NotAfter.ToUniversalTime() - DateTime.UtcNow <= TimeSpan.FromDays(1.01), "serving certificate is short-lived");
        Assert.True(Verifies(leaf, pem));

        // A client that trusts only the bundle the script printed completes the handshake with the running webhook.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.Address.Host, server.Address.Port);
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, certificate, _, _) =>
            certificate is not null && Verifies(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()), pem));
        await tls.AuthenticateAsClientAsync("127.0.0.1");
        Assert.Equal(leaf.Thumbprint, X509CertificateLoader.LoadCertificate(tls.RemoteCertificate!.GetRawCertData()).Thumbprint);
    }

    [Fact]
    public async Task Rerunning_rotates_the_serving_certificate_and_keeps_the_ca_while_valid()
    {
        await RunScriptAsync();
        using var first = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_out, "tls.crt")));
        var ca = await File.ReadAllTextAsync(Path.Combine(_out, "ca.crt"));

        var bundle = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String((await RunScriptAsync()).Trim()));

        using var second = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_out, "tls.crt")));
        Assert.NotEqual(first.SerialNumber, second.SerialNumber);
        Assert.Equal(ca, await File.ReadAllTextAsync(Path.Combine(_out, "ca.crt")));
        Assert.True(Verifies(first, bundle));
        Assert.True(Verifies(second, bundle));
    }

    public void Dispose() => Directory.Delete(_out, true);

    private async Task<string> RunScriptAsync()
    {
        var root = ControlPlaneFixture.FindRepositoryRoot()!;
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        foreach (var arg in new[] { Path.Combine(root, "certs", "make-certs.sh"), "--out", _out, "--ip", "127.0.0.1", "--service", "localhost" })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await stderr);
        return await stdout;
    }

    private static bool Verifies(X509Certificate2 leaf, string bundlePem)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(bundlePem);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }
}
