using System.CommandLine;
using System.Diagnostics;
using Sidecars.Cli.Configuration;

namespace Sidecars.Cli.Commands;

/// <summary>
/// <c>kubectl ...</c>: runs kubectl against the cluster of the settings file (its kubeconfig, context and namespace),
/// so one settings file serves both tools. Flags given on the command line win.
/// </summary>
internal static class KubectlCommand
{
    public const string BinaryVariable = "SIDECARS_KUBECTL";

    public static void AddTo(RootCommand root)
    {
        var args = new Argument<string[]>("args") { Description = "kubectl's arguments", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("kubectl", $"Run kubectl with the settings file's kubeconfig, context and namespace (kubectl from ${BinaryVariable}, else PATH)")
        {
            args,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (result, ct) =>
        {
            var given = (result.GetValue(args) ?? []).Concat(result.UnmatchedTokens).ToList();
            var info = new ProcessStartInfo(Environment.GetEnvironmentVariable(BinaryVariable) is { Length: > 0 } kubectl ? kubectl : "kubectl");
            foreach (var arg in Arguments(CliConfig.Load(), given))
            {
                info.ArgumentList.Add(arg);
            }

            try
            {
                using var process = Process.Start(info)!;
                await process.WaitForExitAsync(ct);
                return process.ExitCode;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                await Console.Error.WriteLineAsync($"error: cannot run {info.FileName}: {e.Message}");
                return 127;
            }
        });
        root.Subcommands.Add(command);
    }

    /// <summary>kubectl's arguments: the settings' connection flags first, unless the given arguments set them.</summary>
    internal static IReadOnlyList<string> Arguments(CliConfig config, IReadOnlyList<string> given)
    {
        var result = new List<string>();
        if (config["kubeconfig"] is { } kubeconfig && !Sets(given, "--kubeconfig"))
        {
            result.Add("--kubeconfig=" + kubeconfig);
        }

        if (config["context"] is { } context && !Sets(given, "--context"))
        {
            result.Add("--context=" + context);
        }

        if (config["namespace"] is { } ns && !Sets(given, "--namespace", "-n") && !Sets(given, "--all-namespaces", "-A"))
        {
            result.Add("--namespace=" + ns);
        }

        result.AddRange(given);
        return result;
    }

    private static bool Sets(IReadOnlyList<string> given, params string[] flags) =>
        given.Any(a => flags.Any(f => a == f || a.StartsWith(f + "=", StringComparison.Ordinal) || (f.Length == 2 && a.StartsWith(f, StringComparison.Ordinal))));
}
