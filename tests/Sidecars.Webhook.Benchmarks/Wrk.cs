using System.Diagnostics;
using System.Globalization;

namespace Sidecars.Webhook.Benchmarks;

internal sealed record WrkResult(long Requests, long Errors, double Seconds, double P50Ms, double P99Ms, double MaxMs)
{
    public double RequestsPerSecond => (Requests - Errors) / Seconds;
}

/// <summary>
/// Saturated closed-loop load from wrk (HTTP/1.1, keep-alive, TLS): every connection sends its next review as soon as the
/// previous answer arrives, so requests/s is the server's capacity on this machine and p99 its tail at that load.
/// </summary>
internal static class Wrk
{
    /// <summary>
    /// POSTs the review in $WRK_BODY; with $WRK_UNIQUE_NAMESPACE set, the placeholder @NS@ becomes a namespace of its own
    /// for every request (one the apiserver has never heard of). Prints one machine-readable line at the end.
    /// </summary>
    private const string Script = """
        local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
        local body = f:read("*a")
        f:close()
        wrk.method = "POST"
        wrk.headers["Content-Type"] = "application/json"
        wrk.body = body
        local threads = 0
        setup = function(thread)
          threads = threads + 1
          thread:set("tid", threads)
        end
        if os.getenv("WRK_UNIQUE_NAMESPACE") then
          local counter = 0
          request = function()
            counter = counter + 1
            return wrk.format(nil, nil, nil, (string.gsub(body, "@NS@", "made-up-" .. tostring(tid) .. "-" .. counter)))
          end
        end
        done = function(summary, latency, requests)
          local e = summary.errors
          io.write(string.format("RESULT %d %d %d %.1f %.1f %.1f\n", summary.requests, e.connect + e.read + e.write + e.status + e.timeout,
            summary.duration, latency:percentile(50), latency:percentile(99), latency.max))
        end
        """;

    public static bool Available() =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(d => File.Exists(Path.Combine(d, "wrk")));

    public static async Task<WrkResult> RunAsync(
        ServedProcess target, string bodyFile, bool uniqueNamespaces, int threads, int connections, TimeSpan duration, CancellationToken cancellationToken)
    {
        var script = Path.Combine(Path.GetDirectoryName(bodyFile)!, "admission.lua");
        if (!File.Exists(script))
        {
            await File.WriteAllTextAsync(script, Script, cancellationToken);
        }

        var info = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
                 {
                     "-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
                     "-d", ((int)duration.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s", "--timeout", "10s", "-s", script, target.MutateUrl.ToString(),
                 })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["WRK_BODY"] = bodyFile;
        if (uniqueNamespaces)
        {
            info.Environment["WRK_UNIQUE_NAMESPACE"] = "1";
        }

        using var wrk = Process.Start(info) ?? throw new InvalidOperationException("could not start wrk");
        var stdout = wrk.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = wrk.StandardError.ReadToEndAsync(cancellationToken);
        using var sampling = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        var exited = wrk.WaitForExitAsync(cancellationToken);
        while (!exited.IsCompleted)
        {
            target.SampleUnderLoad();
            await Task.WhenAny(exited, sampling.WaitForNextTickAsync(cancellationToken).AsTask());
        }

        await exited;
        var output = await stdout;
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"wrk gave no result (exit {wrk.ExitCode}): {output} {await stderr}");
        var f = line.Split(' ');
        double Ms(int i) => double.Parse(f[i], CultureInfo.InvariantCulture) / 1000.0;
        return new WrkResult(long.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture),
            Ms(3) / 1000.0, Ms(4), Ms(5), Ms(6));
    }
}
