using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Sidecars.Contracts.V1;
using Sidecars.Identity.Admin;
using Sidecars.Identity.Blessings;
using Sidecars.Testing;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Identity;

namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>The built cluster agent host, started as a process with no kubeconfig and outside any cluster.</summary>
public sealed partial class ClusterAgentWithoutClusterTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly TestPki _pki;

    public ClusterAgentWithoutClusterTests()
    {
        _pki = new TestPki(_directory.File("pki"));
        File.WriteAllText(_directory.File("pki/server.pem"), _pki.ServerCertificate.ExportCertificatePem());
        File.WriteAllText(_directory.File("pki/server-key.pem"), AdminCredentials.ExportPrivateKeyPem(_pki.ServerCertificate));
    }

    public void Dispose()
    {
        _pki.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task Starts_with_the_file_store_and_serves_claim_new_secret_and_seek_blessings()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = _directory.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(BuiltHosts.ClusterAgent);
        info.Environment.Remove("KUBECONFIG");
        info.Environment.Remove("KUBERNETES_SERVICE_HOST");
        info.Environment.Remove("KUBERNETES_SERVICE_PORT");
        info.Environment["HOME"] = _directory.Path;
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        // Without a cluster there is no Secret to issue into: the certificate comes from files, the endpoint from Kestrel's configuration.
        info.Environment["Sidecars__Serving__Enabled"] = "false";
        info.Environment["Kestrel__Endpoints__Grpc__Url"] = "https://127.0.0.1:0";
        info.Environment["Kestrel__Endpoints__Grpc__Protocols"] = "Http2";
        info.Environment["Kestrel__Endpoints__Grpc__Certificate__Path"] = _directory.File("pki/server.pem");
        info.Environment["Kestrel__Endpoints__Grpc__Certificate__KeyPath"] = _directory.File("pki/server-key.pem");
        info.Environment["Sidecars__Identity__AdminClientCaFile"] = _pki.AdminCaPemPath;

        // Outside a cluster pods cannot be attested: the operator says so explicitly.
        info.Environment["Sidecars__Identity__ReplicaAttestation"] = "SecretOnly";

        using var process = Process.Start(info)!;
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Collect(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException("the cluster agent exited:\n" + string.Join('\n', log)));
                return;
            }

            log.Enqueue(e.Data);
            if (ListeningOn().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(match.Groups[1].Value);
            }
        }

        process.OutputDataReceived += Collect;
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(120));
            using var admin = AdminCredentials.CreateChannel(address, _pki.AdminClient, _pki.ServerRoots);
            using var anonymous = AdminCredentials.CreateChannel(address, null, _pki.ServerRoots);
            var adminClient = new Contracts.V1.Identity.IdentityClient(admin);
            var anonymousClient = new Contracts.V1.Identity.IdentityClient(anonymous);

            var claimed = await adminClient.ClaimAsync(new ClaimRequest { Blessing = "root" });
            Assert.Equal("root", claimed.Blessing);
            var secret = await adminClient.NewSecretAsync(new NewSecretRequest { Extension = "my-service" });
            Assert.Equal("root:my-service", secret.Blessing);

            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var sought = await anonymousClient.SeekBlessingsAsync(new SeekBlessingsRequest
            {
                Secret = secret.Secret,
                PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()),
                Replica = "replica-1",
            });
            var roots = await anonymousClient.GetTrustRootsAsync(new GetTrustRootsRequest());
            var verifier = new BlessingVerifier(roots.Certificates.Select(c => X509CertificateLoader.LoadCertificate(c.ToByteArray())));
            var verified = verifier.Verify([.. sought.Blessing.Chain.Select(c => c.ToByteArray())], DateTimeOffset.UtcNow);
            Assert.True(verified.IsValid, verified.Error);
            Assert.Equal("root:my-service:replica-1", verified.Name);

            // The default store is a file under the working directory, and the Kubernetes capabilities said why they are off.
            Assert.True(File.Exists(Path.Combine(_directory.Path, "data", "sidecars-identity.json")), "the file store was not written");
            foreach (var capability in new[] { "clusters", "networks", "user-pods" })
            {
                Assert.Single(log, line => line.Contains($"Capability {capability} is off: no Kubernetes configuration", StringComparison.Ordinal));
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [GeneratedRegex(@"Now listening on: (https://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}
