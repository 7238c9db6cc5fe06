using System.Diagnostics;
using System.Text;

namespace Sidecars.Testing.Hosts;

/// <summary>
/// Hosts a test project builds (as project references without the assembly) and runs as processes: sidecarsctl, the
/// cluster agent and the webhook.
/// </summary>
public static class BuiltHosts
{
    public static string Cli => Find("src/Sidecars.Cli", "sidecarsctl.dll");

    public static string ClusterAgent => Find("src/Sidecars.ClusterAgent", "sidecars-cluster-agent.dll");

    public static string Webhook => Find("webhook", "sidecars-webhook.dll");

    /// <summary>The host's dll in the same configuration as this test assembly (bin/&lt;Configuration&gt;/&lt;tfm&gt;).</summary>
    private static string Find(string project, string file)
    {
        var root = ControlPlaneFixture.FindRepositoryRoot() ?? throw new InvalidOperationException("Sidecars.sln not found above the test binaries");
        var own = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Path.Combine(root, project, "bin", own.Parent!.Name, own.Name, file);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{file} is not built; build the test project (it references {project})", path);
    }

    /// <summary>Runs <c>dotnet dll args</c> to completion with extra environment; returns exit code and both streams.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string dll, IReadOnlyDictionary<string, string> environment, IEnumerable<string> args, CancellationToken ct)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        output.Append(await stdout).Append(await stderr);
        return (process.ExitCode, output.ToString());
    }
}
