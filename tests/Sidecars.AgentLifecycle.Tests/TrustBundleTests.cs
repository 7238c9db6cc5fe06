using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Sidecars.Identity.Admin;

namespace Sidecars.AgentLifecycle.Tests;

/// <summary>The CA bundle file the pod-agent trusts for the cluster agent, laid out and swapped as a kubelet does it.</summary>
public sealed class TrustBundleTests : IDisposable
{
    private readonly string _volume = Path.Combine(Path.GetTempPath(), "trust-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly X509Certificate2 _first = AdminCredentials.CreateCertificateAuthority("bundle-ca-1");
    private readonly X509Certificate2 _second = AdminCredentials.CreateCertificateAuthority("bundle-ca-2");
    private int _payloads;

    public TrustBundleTests() => Directory.CreateDirectory(_volume);

    private string File => Path.Combine(_volume, "ca.crt");

    [Fact]
    public void Trusts_only_the_bundle_and_follows_a_swapped_data_link_without_being_made_anew()
    {
        using var fromFirst = AdminCredentials.IssueServerCertificate(_first, "127.0.0.1");
        using var fromSecond = AdminCredentials.IssueServerCertificate(_second, "127.0.0.1");
        Swap(_first);
        var bundle = new TrustBundle(File);
        Assert.Null(bundle.Check(fromFirst, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.NotNull(bundle.Check(fromSecond, SslPolicyErrors.RemoteCertificateChainErrors));

        Swap(_first, _second);
        Assert.Null(bundle.Check(fromFirst, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.Null(bundle.Check(fromSecond, SslPolicyErrors.RemoteCertificateChainErrors));

        Swap(_second);
        Assert.Null(bundle.Check(fromSecond, SslPolicyErrors.RemoteCertificateChainErrors));
        var refused = bundle.Check(fromFirst, SslPolicyErrors.RemoteCertificateChainErrors);
        Assert.NotNull(refused);
        Assert.Contains("issued by 'CN=bundle-ca-1'", refused, StringComparison.Ordinal);
        Assert.Contains($"trusted CAs from {File}: 'CN=bundle-ca-2'", refused, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_empty_bundle_and_a_name_mismatch_are_refused_with_the_reason()
    {
        using var server = AdminCredentials.IssueServerCertificate(_first, "127.0.0.1");
        var bundle = new TrustBundle(File);
        Assert.Contains($"the CA bundle {File} cannot be read", bundle.Check(server, SslPolicyErrors.None), StringComparison.Ordinal);

        System.IO.File.WriteAllText(File, "");
        Assert.Equal($"the CA bundle {File} holds no certificate", bundle.Check(server, SslPolicyErrors.None));

        System.IO.File.WriteAllText(File, _first.ExportCertificatePem());
        Assert.Contains("does not name the address connected to", bundle.Check(server, SslPolicyErrors.RemoteCertificateNameMismatch), StringComparison.Ordinal);
        Assert.Null(bundle.Check(server, SslPolicyErrors.None));
    }

    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
        Directory.Delete(_volume, recursive: true);
    }

    /// <summary>
    /// The layout of a kubelet's ConfigMap volume: <c>ca.crt</c> links through <c>..data</c> to a payload directory, and
    /// an update points <c>..data</c> at a new one (atomically in the kubelet; its writer is tested with the simulated kubelet).
    /// </summary>
    private void Swap(params X509Certificate2[] authorities)
    {
        var payload = ".." + _payloads++;
        Directory.CreateDirectory(Path.Combine(_volume, payload));
        System.IO.File.WriteAllText(Path.Combine(_volume, payload, "ca.crt"), string.Concat(authorities.Select(a => a.ExportCertificatePem() + "\n")));
        var data = Path.Combine(_volume, "..data");
        if (new FileInfo(data).LinkTarget is not null)
        {
            System.IO.File.Delete(data);
        }

        Directory.CreateSymbolicLink(data, payload);
        if (new FileInfo(File).LinkTarget is null)
        {
            System.IO.File.CreateSymbolicLink(File, Path.Combine("..data", "ca.crt"));
        }
    }
}
