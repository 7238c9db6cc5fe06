using System.Globalization;
using System.Text.Json;
using k8s;
using Sidecars.Faults.Tests.ControlPlane;
using Sidecars.Identity.Store;
using Sidecars.Testing;
using Sidecars.Testing.Hosts;
using Sidecars.Testing.Identity;
using Xunit.Abstractions;

namespace Sidecars.Faults.Tests.Identity;

/// <summary>
/// Scenario 1 with the file store: the cluster agent process killed (SIGKILL) in the middle of NewSecret, SeekBlessings
/// and ForgetSecret calls from concurrent callers, and restarted at the same address on the same file.
/// </summary>
public sealed class ClusterAgentKilledDuringSecretOperationsTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Every_acknowledged_operation_survives_and_none_is_half_applied()
    {
        using var pki = new TestPki(_directory.File("pki"));
        var store = _directory.File("agent/identity.json");
        await using var agent = new ClusterAgentProcess(pki, _directory.File("agent"), SecretChurnScenario.Settings(new Dictionary<string, string>
        {
            ["Sidecars__Identity__Store"] = "File",
            ["Sidecars__Identity__FilePath"] = store,
        }));
        await SecretChurnScenario.RunAsync(agent, "file store", output, async ct =>
        {
            using var document = JsonDocument.Parse(await File.ReadAllTextAsync(store, ct));
            return document.RootElement.GetProperty("secrets").GetArrayLength();
        });

        // No temporary file of an interrupted write (each a copy of the state, root key included) is left beside it.
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(store)!, "*.tmp"));
    }

    public void Dispose() => _directory.Dispose();
}

/// <summary>Scenario 1 with the Kubernetes store, as deployed: each secret's hash is a Secret the apiserver keeps.</summary>
[Collection(FaultsCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class ClusterAgentKilledDuringSecretOperationsOnKubernetesTests(ControlPlaneFixture fixture, ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Every_acknowledged_operation_survives_and_none_is_half_applied()
    {
        var ns = await fixture.NewNamespaceAsync("fault-identity");
        using var pki = new TestPki(_directory.File("pki"));
        await using var agent = new ClusterAgentProcess(pki, _directory.File("agent"), SecretChurnScenario.Settings(new Dictionary<string, string>
        {
            ["Sidecars__Kubernetes__KubeconfigPath"] = fixture.ControlPlane.KubeconfigPath,
            ["Sidecars__Identity__Store"] = "Kubernetes",
            ["Sidecars__Identity__Namespace"] = ns,
            ["Sidecars__Clusters__Namespace"] = ns,
            ["Sidecars__Networks__Namespace"] = ns,
            ["Sidecars__Leadership__Namespace"] = ns,
        }));
        await SecretChurnScenario.RunAsync(agent, "Kubernetes store", output, async ct =>
            (await fixture.Client.CoreV1.ListNamespacedSecretAsync(ns, labelSelector: $"{KubernetesIdentityStore.KindLabel}=secret", cancellationToken: ct)).Items.Count);
    }

    public void Dispose() => _directory.Dispose();
}

/// <summary>The run and the checks both stores share.</summary>
internal static class SecretChurnScenario
{
    /// <summary>Set by the soak (soak.sh) to run the full count.</summary>
    public const string OperationsVariable = "SIDECARS_FAULTS_SECRET_OPERATIONS";

    private const int Callers = 8;
    private const int Kills = 2;

    /// <summary>Reduced for the suite; the soak runs 1,000 operations.</summary>
    private static readonly int Operations = int.TryParse(Environment.GetEnvironmentVariable(OperationsVariable), out var n) && n > 0 ? n : 200;

    public static Dictionary<string, string> Settings(Dictionary<string, string> store)
    {
        // No pod tokens to review here: the secret alone is the credential. Seeks of forgotten secrets are expected
        // refusals, not guesses to throttle.
        store["Sidecars__Identity__ReplicaAttestation"] = "SecretOnly";
        store["Sidecars__Identity__FailureBurst"] = "1000000";
        store["Sidecars__Identity__FailuresPerSecond"] = "1000000";
        return store;
    }

    /// <param name="store">Which store, for the figures.</param>
    /// <param name="storedSecrets">How many secret records the store holds.</param>
    public static async Task RunAsync(ClusterAgentProcess agent, string store, ITestOutputHelper output, Func<CancellationToken, Task<int>> storedSecrets)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8 + (Operations / 100)));
        await agent.StartAsync(timeout.Token);
        var churn = new SecretChurn(agent, Operations, Callers, Kills);
        await churn.RunAsync(timeout.Token);
        await churn.VerifyAsync(timeout.Token);
        output.WriteLine($"operations {Operations}, callers {Callers}, kills {Kills}: {churn.TransientErrors} calls interrupted and retried " +
            $"({churn.UnansweredNewSecrets} of them NewSecret), {churn.LiveSecrets} live secrets");
        output.WriteLine($"recovery (SIGKILL to first acknowledged call, {store}) s: " +
            string.Join(", ", churn.Recoveries.Select(r => r.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture))));

        var log = agent.Log;
        Assert.True(churn.Violations.Count == 0, string.Join('\n', churn.Violations.Take(20)) + "\n" + log[^Math.Min(log.Length, 4000)..]);
        Assert.Equal(Kills, churn.Recoveries.Count);

        // The kills landed in the middle of calls: some were left without an answer and retried.
        Assert.True(churn.TransientErrors > 0, "no call was interrupted: the kills did not land in the middle of operations");

        // The store holds every live secret, plus at most one record per NewSecret whose answer was lost (its secret
        // is held by nobody, so it can never be used).
        Assert.InRange(await storedSecrets(timeout.Token), churn.LiveSecrets, churn.LiveSecrets + churn.UnansweredNewSecrets);
    }
}
