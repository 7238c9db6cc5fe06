using System.Diagnostics;

namespace Sidecars.LocalCluster;

/// <summary>
/// A child process whose stdout and stderr append to a log file. The shell only sets up the redirection and then
/// execs the program, so the process id, signals and exit code are the program's own and nothing pumps output.
/// </summary>
internal sealed class LoggedProcess : IAsyncDisposable
{
    private const string RedirectScript = "log=\"$1\"; shift; exec \"$@\" >>\"$log\" 2>&1 </dev/null";

    private readonly Process _process;

    private LoggedProcess(Process process, string logPath)
    {
        _process = process;
        LogPath = logPath;
        Exited = WaitAsync();
    }

    public int Id => _process.Id;

    public string LogPath { get; }

    /// <summary>Completes with the exit code when the process exits.</summary>
    public Task<int> Exited { get; }

    public bool HasExited => Exited.IsCompleted;

    public static LoggedProcess Start(ProcessStartInfo program, string logPath)
    {
        ArgumentNullException.ThrowIfNull(program);
        var startInfo = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            WorkingDirectory = program.WorkingDirectory,
        };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(RedirectScript);
        startInfo.ArgumentList.Add("sh");
        startInfo.ArgumentList.Add(logPath);
        startInfo.ArgumentList.Add(program.FileName);
        if (program.ArgumentList.Count > 0)
        {
            foreach (var argument in program.ArgumentList)
            {
                startInfo.ArgumentList.Add(argument);
            }
        }
        else if (!string.IsNullOrWhiteSpace(program.Arguments))
        {
            throw new ArgumentException("Use ProcessStartInfo.ArgumentList, not Arguments.", nameof(program));
        }

        foreach (var (name, value) in program.Environment)
        {
            startInfo.Environment[name] = value;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {program.FileName}.");
        ChildProcessRegistry.Register(process);
        return new LoggedProcess(process, logPath);
    }

    /// <summary>SIGTERM, then kill (with children) once <paramref name="grace"/> has passed.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (HasExited)
        {
            return;
        }

        PosixSignals.Terminate(_process.Id);
        if (await Task.WhenAny(Exited, Task.Delay(grace)) != Exited)
        {
            Kill();
            await Exited;
        }
    }

    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await Exited;
        _process.Dispose();
    }

    private async Task<int> WaitAsync()
    {
        await _process.WaitForExitAsync();
        ChildProcessRegistry.Unregister(_process);
        return _process.ExitCode;
    }
}
