using System.Diagnostics;

namespace Sidecars.RealNode.Tests;

/// <summary>What a command printed and how it ended.</summary>
public sealed record CommandResult(int ExitCode, string Output, string Error)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>Runs a program to completion with a bound, capturing its output.</summary>
internal static class Commands
{
    public static async Task<CommandResult> RunAsync(
        string program, IEnumerable<string> args, TimeSpan timeout, string? stdin = null, IDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in args)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"could not start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {timeout}; stderr: {Tail(await error)}");
        }

        // A daemon the program left running must not hold its output open (the lane's scripts close it for theirs).
        try
        {
            await Task.WhenAll(output, error).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{program} {string.Join(' ', args)} exited, but a process it started still holds its output open");
        }

        return new CommandResult(process.ExitCode, await output, await error);
    }

    /// <summary>The last lines of a long output, for failure messages.</summary>
    public static string Tail(string text, int lines = 30) =>
        string.Join('\n', text.Split('\n').TakeLast(lines));
}
