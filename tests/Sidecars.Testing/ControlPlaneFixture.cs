using System.Security.Cryptography;
using System.Text.RegularExpressions;
using k8s;
using Sidecars.LocalCluster;
using Xunit;

namespace Sidecars.Testing;

/// <summary>
/// One local control plane (etcd, apiserver, controller-manager, scheduler, simulated kubelet) per test assembly run.
/// Test projects declare <c>[CollectionDefinition("...")] class X : ICollectionFixture&lt;ControlPlaneFixture&gt;</c>
/// and isolate each test in <see cref="NewNamespaceAsync"/>. When the built agent is found it is registered as the
/// runner for <c>.../sidecars/agent</c> images. Test classes in such a collection carry
/// <c>[Trait("Category", "ControlPlane")]</c>, so that <c>--filter "Category!=ControlPlane"</c> runs the unit tests alone.
/// </summary>
public sealed partial class ControlPlaneFixture : IAsyncLifetime
{
    public const string AgentPathVariable = "SIDECARS_AGENT_PATH";

    /// <summary>Set to 1 to keep the control plane's state directory (logs, pod directories) after the run.</summary>
    public const string KeepStateVariable = "SIDECARS_KEEP_STATE";

    private LocalControlPlane? _controlPlane;
    private k8s.Kubernetes? _client;

    public LocalControlPlane ControlPlane => _controlPlane ?? throw new InvalidOperationException("The fixture has not started.");

    /// <summary>An admin client shared by the tests (do not dispose).</summary>
    public k8s.Kubernetes Client => _client ?? throw new InvalidOperationException("The fixture has not started.");

    /// <summary>The agent executable the kubelet runs for agent images, or null when none was found.</summary>
    public string? AgentPath { get; private set; }

    public async Task InitializeAsync()
    {
        var options = new LocalControlPlaneOptions
        {
            KeepStateDirectory = Environment.GetEnvironmentVariable(KeepStateVariable) == "1",
        };
        AgentPath = FindAgent();
        if (AgentPath is not null)
        {
            options.Runners.Add(new AgentContainerRunner(AgentPath));
        }

        _controlPlane = await LocalControlPlane.StartAsync(options);
        _client = _controlPlane.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_controlPlane is not null)
        {
            await _controlPlane.DisposeAsync();
        }
    }

    /// <summary>
    /// Stops <paramref name="component"/> (<see cref="LocalControlPlane.EtcdComponent"/> or
    /// <see cref="LocalControlPlane.ApiServerComponent"/>; SIGKILL when <paramref name="kill"/>, else SIGTERM), runs
    /// <paramref name="whileDown"/>, and starts it again on the same port and data; returns once it is healthy. The rest
    /// of the control plane and everything watching it see the outage as in a cluster.
    /// </summary>
    public async Task RestartComponentAsync(string component, bool kill, Func<CancellationToken, Task>? whileDown = null, CancellationToken ct = default)
    {
        await ControlPlane.StopComponentAsync(component, kill, ct);
        try
        {
            if (whileDown is not null)
            {
                await whileDown(ct);
            }
        }
        finally
        {
            await ControlPlane.StartStoppedComponentAsync(component, ct);
        }
    }

    /// <summary>Creates <c>&lt;prefix&gt;-&lt;random&gt;</c> and waits for its default ServiceAccount.</summary>
    public async Task<string> NewNamespaceAsync(string prefix, IDictionary<string, string>? labels = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var clean = InvalidNameCharacters().Replace(prefix.ToLowerInvariant(), "-").Trim('-');
        clean = clean.Length > 40 ? clean[..40].TrimEnd('-') : clean;
        var name = $"{(clean.Length > 0 ? clean : "test")}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        await ControlPlane.CreateNamespaceAsync(name, labels, ct);
        return name;
    }

    /// <summary>
    /// The built agent: <c>$SIDECARS_AGENT_PATH</c>, else the newest <c>agent/bin/**/sidecars-agent</c> (or
    /// <c>sidecars-agent.dll</c>) under the repository root.
    /// </summary>
    public static string? FindAgent()
    {
        var configured = Environment.GetEnvironmentVariable(AgentPathVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured) ? Path.GetFullPath(configured) : null;
        }

        var root = FindRepositoryRoot();
        var bin = root is null ? null : Path.Combine(root, "agent", "bin");
        if (bin is null || !Directory.Exists(bin))
        {
            return null;
        }

        var candidates = Directory.EnumerateFiles(bin, "sidecars-agent", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(bin, "sidecars-agent.dll", SearchOption.AllDirectories))
            .Select(path => new FileInfo(path))
            .OrderByDescending(file => file.LastWriteTimeUtc)
            .ThenBy(file => file.Extension.Length)
            .ToList();
        return candidates.FirstOrDefault()?.FullName;
    }

    /// <summary>The nearest directory above the test binaries that holds Sidecars.sln.</summary>
    public static string? FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Sidecars.sln")))
            {
                return directory.FullName;
            }
        }

        return null;
    }

    [GeneratedRegex("[^a-z0-9-]+")]
    private static partial Regex InvalidNameCharacters();
}
