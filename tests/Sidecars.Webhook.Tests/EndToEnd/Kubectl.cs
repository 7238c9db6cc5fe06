using System.Diagnostics;
using Sidecars.LocalCluster;

namespace Sidecars.Webhook.Tests.EndToEnd;

/// <summary>kubectl with both streams kept, to read the admission warnings it prints on stderr.</summary>
internal static class Kubectl
{
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(LocalControlPlane controlPlane, string user, string stdin, params string[] args)
    {
        var bin = Environment.GetEnvironmentVariable(LocalControlPlaneOptions.BinDirectoryVariable)
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "sidecars", "k8s-1.20.2", "bin");
        var info = new ProcessStartInfo(Path.Combine(bin, "kubectl"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add("--kubeconfig=" + controlPlane.KubeconfigFor(user));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }
}
