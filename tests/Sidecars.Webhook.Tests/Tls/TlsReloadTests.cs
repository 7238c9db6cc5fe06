namespace Sidecars.Webhook.Tests;

/// <summary>The serving certificate is replaced on disk and the running server presents the new one.</summary>
public sealed class TlsReloadTests
{
    [Fact]
    public async Task A_new_certificate_on_disk_is_served_without_a_restart()
    {
        using var certificates = new TestCertificates();
        await using var server = await WebhookServer.StartAsync(certificates);
        using var client = server.CreateClient();
        using (var first = await client.GetAsync("/healthz"))
        {
            first.EnsureSuccessStatusCode();
        }

        var before = server.LastServerCertificate!.Thumbprint;
        var replacement = certificates.IssueServing();
        certificates.WriteServing(replacement);
        using var expected = replacement.Load();

        using var client2 = server.CreateClient();
        using var second = await client2.GetAsync("/healthz");

        second.EnsureSuccessStatusCode();
        Assert.NotEqual(before, server.LastServerCertificate!.Thumbprint);
        Assert.Equal(expected.Thumbprint, server.LastServerCertificate.Thumbprint);
    }

    [Fact]
    public async Task A_broken_certificate_file_keeps_the_previous_one_in_use()
    {
        using var certificates = new TestCertificates();
        await using var server = await WebhookServer.StartAsync(certificates);
        using var client = server.CreateClient();
        (await client.GetAsync("/healthz")).Dispose();
        var before = server.LastServerCertificate!.Thumbprint;

        await File.WriteAllTextAsync(certificates.CertificateFile, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");

        using var client2 = server.CreateClient();
        using var response = await client2.GetAsync("/healthz");
        response.EnsureSuccessStatusCode();
        Assert.Equal(before, server.LastServerCertificate!.Thumbprint);
    }
}
