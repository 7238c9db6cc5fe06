using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sidecars.RealNode.Tests;

/// <summary>
/// An ordinary user of the lane: a client certificate for <see cref="Name"/> (no group) from the lane's CA, and a
/// kubeconfig with it. What the user may do is whatever RBAC gives the name.
/// </summary>
internal sealed class LaneUser : IDisposable
{
    private readonly string _directory;

    private LaneUser(string name, string directory, string kubeconfig)
    {
        Name = name;
        _directory = directory;
        Kubeconfig = kubeconfig;
    }

    public string Name { get; }

    public string Kubeconfig { get; }

    public static LaneUser Create(string name)
    {
        var pki = Path.Combine(Lane.StateDirectory, "pki");
        using var authority = X509Certificate2.CreateFromPemFile(Path.Combine(pki, "ca.crt"), Path.Combine(pki, "ca.key"));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        var now = DateTimeOffset.UtcNow;
        // Backdated for clock skew, but never before the lane's CA (a lane started minutes ago).
        var notBefore = new[] { now.AddMinutes(-5), new DateTimeOffset(authority.NotBefore.ToUniversalTime(), TimeSpan.Zero) }.Max();
        using var certificate = request.Create(authority, notBefore, now.AddHours(2), RandomNumberGenerator.GetBytes(16));

        var directory = Directory.CreateTempSubdirectory("sidecars-user-").FullName;
        var admin = File.ReadAllText(Path.Combine(Lane.StateDirectory, "kubeconfig-admin"));
        var server = admin.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("server:", StringComparison.Ordinal))["server:".Length..].Trim();
        var kubeconfig = Path.Combine(directory, "kubeconfig");
        File.WriteAllText(kubeconfig, $$"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: lane
              cluster:
                server: {{server}}
                certificate-authority-data: {{Base64(authority.ExportCertificatePem())}}
            users:
            - name: {{name}}
              user:
                client-certificate-data: {{Base64(certificate.ExportCertificatePem())}}
                client-key-data: {{Base64(key.ExportPkcs8PrivateKeyPem())}}
            contexts:
            - name: lane
              context: { cluster: lane, user: {{name}} }
            current-context: lane
            """);
        File.SetUnixFileMode(kubeconfig, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new LaneUser(name, directory, kubeconfig);
    }

    /// <summary>kubectl as this user.</summary>
    public Task<CommandResult> KubectlAsync(string[] args, string? stdin = null) =>
        Commands.RunAsync(Path.Combine(Lane.BinDirectory, "kubectl"), ["--kubeconfig", Kubeconfig, .. args], TimeSpan.FromMinutes(2), stdin);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string Base64(string pem) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(pem));
}
