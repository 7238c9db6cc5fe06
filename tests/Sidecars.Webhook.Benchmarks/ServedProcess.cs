using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Sidecars.Webhook.Benchmarks;

/// <summary>Resident memory of a process from /proc/&lt;pid&gt;/status, in MiB.</summary>
internal readonly record struct Memory(double RssMiB, double HighWaterMiB)
{
    public static Memory Read(int pid)
    {
        double rss = 0, hwm = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line) / 1024.0;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = Kilobytes(line) / 1024.0;
            }
        }

        return new Memory(rss, hwm);

        static long Kilobytes(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}

/// <summary>One admission endpoint under test: a server process of its own on a loopback port, HTTPS.</summary>
internal sealed class ServedProcess : IDisposable
{
    private long _outputLines;

    private ServedProcess(string name, Process process, int port)
    {
        Name = name;
        Process = process;
        Port = port;
    }

    public string Name { get; }

    public Process Process { get; }

    public int Port { get; }

    public Uri MutateUrl => new($"https://127.0.0.1:{Port}/mutate");

    /// <summary>Resident memory before any load (after start and the requests that prove it serves).</summary>
    public Memory Idle { get; set; }

    /// <summary>Highest VmRSS sampled while load ran.</summary>
    public double LoadedRssMiB { get; private set; }

    /// <summary>Lines the process has written to stdout and stderr.</summary>
    public long OutputLines => Interlocked.Read(ref _outputLines);

    /// <summary>The last line written, for a process that failed.</summary>
    public string? LastLine { get; private set; }

    public void SampleUnderLoad() => LoadedRssMiB = Math.Max(LoadedRssMiB, Memory.Read(Process.Id).RssMiB);

    public static async Task<ServedProcess> StartAsync(
        string name, string file, IEnumerable<string> arguments, int port, CancellationToken cancellationToken,
        string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        // Output goes to a pipe that is drained, as a container runtime drains a container's; only the lines are counted.
        var info = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var served = new ServedProcess(name, process, port);
        process.OutputDataReceived += (_, e) => served.Count(e.Data);
        process.ErrorDataReceived += (_, e) => served.Count(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await WaitListeningAsync(served, cancellationToken);
        }
        catch
        {
            served.Dispose();
            throw;
        }

        return served;
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }

        Process.Dispose();
    }

    private void Count(string? line)
    {
        if (line is not null)
        {
            Interlocked.Increment(ref _outputLines);
            LastLine = line;
        }
    }


    private static async Task WaitListeningAsync(ServedProcess served, CancellationToken cancellationToken)
    {
        var (process, port) = (served.Process, served.Port);
        for (var attempt = 0; attempt < 600; attempt++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.StartInfo.FileName} exited with {process.ExitCode} before listening on {port}: {served.LastLine}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100, cancellationToken);
            }
        }

        throw new TimeoutException($"nothing listens on 127.0.0.1:{port} after 60 s");
    }
}
