using System.CommandLine;
using Sidecars.Cli.Demo;

namespace Sidecars.Cli.Commands;

/// <summary><c>demo</c>: the quick start on a local control plane.</summary>
internal static class DemoCommand
{
    public static void AddTo(RootCommand root)
    {
        var keep = new Option<bool>("--keep") { Description = "Keep the control plane and webhook running until Ctrl+C" };
        var command = new Command("demo", "Start a local control plane, register the webhook, apply a sample workload and print what the webhook changed");
        command.Options.Add(keep);
        command.SetAction(async (result, cancellationToken) =>
        {
            try
            {
                return await new DemoRunner(Console.Out).RunAsync(result.GetValue(keep), cancellationToken);
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException or FileNotFoundException or IOException)
            {
                await Console.Error.WriteLineAsync("demo failed: " + e.Message);
                return 1;
            }
        });
        root.Subcommands.Add(command);
    }
}
