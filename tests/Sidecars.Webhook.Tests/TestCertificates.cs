using System.Net;
using Sidecars.Certificates.Issuing;
using Sidecars.Webhook.Tls;

namespace Sidecars.Webhook.Tests;

/// <summary>A CA and a loopback serving certificate written as PEM files into a temporary directory.</summary>
internal sealed class TestCertificates : IDisposable
{
    public TestCertificates()
    {
        Directory.CreateDirectory(DirectoryPath);
        Authority = CertificateIssuer.CreateAuthority("test-ca", DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromDays(1));
        WriteServing(IssueServing());
    }

    public string DirectoryPath { get; } = Path.Combine(Path.GetTempPath(), "sidecars-webhook-tests-" + Guid.NewGuid().ToString("N"));

    public PemPair Authority { get; }

    public string CertificateFile => Path.Combine(DirectoryPath, "tls.crt");

    public string KeyFile => Path.Combine(DirectoryPath, "tls.key");

    public PemPair IssueServing()
        => CertificateIssuer.IssueServing(Authority, ["localhost"], [IPAddress.Loopback], DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromHours(1));

    public void WriteServing(PemPair serving)
    {
        File.WriteAllText(KeyFile + ".tmp", serving.KeyPem);
        File.Move(KeyFile + ".tmp", KeyFile, true);
        File.WriteAllText(CertificateFile + ".tmp", serving.CertificatePem);
        File.Move(CertificateFile + ".tmp", CertificateFile, true);
    }

    public void Dispose() => Directory.Delete(DirectoryPath, true);
}
