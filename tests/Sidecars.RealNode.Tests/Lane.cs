namespace Sidecars.RealNode.Tests;

/// <summary>The real-node lane's scripts in this repository (tests/realnode) and the paths they share.</summary>
internal static class Lane
{
    private static readonly TimeSpan UpTimeout = TimeSpan.FromMinutes(45);
    private static readonly TimeSpan DownTimeout = TimeSpan.FromMinutes(5);

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string Scripts => Path.Combine(RepositoryRoot, "tests", "realnode");

    /// <summary>The lane's runtime state (tests/realnode/lane.sh), removed by down.sh.</summary>
    public const string StateDirectory = "/var/lib/sidecars-realnode";

    /// <summary>Where the lane's control plane binaries are built (tests/controlplane/install.sh and the lane's own).</summary>
    public static string BinDirectory =>
        Environment.GetEnvironmentVariable("SIDECARS_K8S_BIN") is { Length: > 0 } bin
            ? bin
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "sidecars", "k8s-1.20.2", "bin");

    /// <summary>The local registry, as containerd and the webhook's rewrite see it.</summary>
    public const string Registry = "127.0.0.1:5000";

    /// <summary>The name the shipped webhook settings give the registry; the lane's containerd serves it from <see cref="Registry"/>.</summary>
    public const string ShippedRegistryName = "registry.sidecars.local";

    /// <summary>The test pods' app image, pushed to the local registry by up.sh.</summary>
    public const string AppImage = "realnode/busybox:1.35";

    /// <summary>The kubeconfig of the running lane, or null when it does not run.</summary>
    public static async Task<string?> StatusAsync()
    {
        var status = await Commands.RunAsync("bash", [Path.Combine(Scripts, "status.sh")], TimeSpan.FromSeconds(30));
        return status.Succeeded ? KubeconfigFrom(status.Output) : null;
    }

    /// <summary>Runs up.sh (idempotent) and returns the kubeconfig named by its last line.</summary>
    public static async Task<string> UpAsync()
    {
        var up = await RunScriptAsync("up.sh", UpTimeout);
        return KubeconfigFrom(up.Output)
            ?? throw new InvalidOperationException($"up.sh did not end with `export KUBECONFIG=...`; it printed: {Commands.Tail(up.Output)}");
    }

    public static Task DownAsync() => RunScriptAsync("down.sh", DownTimeout);

    /// <summary>Runs images.sh: builds what changed from the Dockerfiles and pushes to the local registry.</summary>
    public static Task ImagesAsync() => RunScriptAsync("images.sh", UpTimeout);

    /// <summary>
    /// The machine has one lane: whoever uses it (a test fixture here, or <c>flock</c> on <see cref="LockFile"/> in a
    /// shell) holds this exclusive lock meanwhile, so two runs never start, install into or take down the same lane at
    /// once. Waits for a holder to finish, up to <paramref name="bound"/>.
    /// </summary>
    public static async Task<IDisposable> AcquireAsync(TimeSpan bound)
    {
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            try
            {
                // FileShare.None takes an exclusive flock(2) on Linux, the same lock flock(1) takes.
                return new FileStream(LockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>The lock every user of the lane holds (<see cref="AcquireAsync"/>).</summary>
    public const string LockFile = "/run/lock/sidecars-realnode.lock";

    private static async Task<CommandResult> RunScriptAsync(string script, TimeSpan timeout)
    {
        var result = await Commands.RunAsync("bash", [Path.Combine(Scripts, script)], timeout);
        var log = Path.Combine(AppContext.BaseDirectory, "realnode-logs", $"{DateTime.UtcNow:HHmmss}-{script}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        await File.WriteAllTextAsync(log, result.Error + result.Output);
        return result.Succeeded
            ? result
            : throw new InvalidOperationException($"{script} exited with {result.ExitCode} (log {log}):\n{Commands.Tail(result.Error)}");
    }

    private static string? KubeconfigFrom(string output)
    {
        const string Prefix = "export KUBECONFIG=";
        var last = output.TrimEnd().Split('\n').LastOrDefault() ?? string.Empty;
        return last.StartsWith(Prefix, StringComparison.Ordinal) ? last[Prefix.Length..].Trim() : null;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Sidecars.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Sidecars.sln above {AppContext.BaseDirectory}");
    }
}
