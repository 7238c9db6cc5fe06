using System.Diagnostics;
using System.Globalization;
using System.Net;
using Sidecars.Testing;
using Sidecars.Testing.Agent;

namespace Sidecars.Agent.Tests;

/// <summary>The built agent binary, run as the kubelet runs it: what it holds from the kernel once serving.</summary>
public sealed class AgentProcessTests
{
    public static TheoryData<string> Roles => new() { "lightpeer", "pod-agent" };

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task A_serving_agent_holds_no_inotify_instance(string role)
    {
        using var process = await StartServingAsync(role);
        try
        {
            var descriptors = Directory.EnumerateFileSystemEntries($"/proc/{process.Id}/fd")
                .Select(fd => new FileInfo(fd).LinkTarget ?? "")
                .ToList();
            Assert.NotEmpty(descriptors);
            Assert.DoesNotContain(descriptors, target => target.Contains("inotify", StringComparison.Ordinal));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>The kubelet stops a container with SIGTERM and kills it after the grace period: the agent exits at once, cleanly.</summary>
    [Theory]
    [MemberData(nameof(Roles))]
    public async Task A_serving_agent_exits_cleanly_on_SIGTERM(string role)
    {
        using var process = await StartServingAsync(role);
        try
        {
            using (var kill = Process.Start("kill", ["-TERM", Text(process.Id)])!)
            {
                await kill.WaitForExitAsync();
                Assert.Equal(0, kill.ExitCode);
            }

            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await process.WaitForExitAsync(bound.Token);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    private static async Task<Process> StartServingAsync(string role)
    {
        var (port, health) = (FreePort.Next(), FreePort.Next());
        var process = StartAgent(role == "lightpeer"
            ? ["lightpeer", "--address", "127.0.0.1", "--port", Text(port), "--health-port", Text(health)]
            : ["pod-agent", "--tokens-only", "--pod-ip", "127.0.0.1", "--health-port", Text(health)]);
        _ = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var http = new HttpClient();
            await Eventually.UntilAsync(async () =>
            {
                Assert.False(process.HasExited, $"the agent exited: {(process.HasExited ? await stderr : "")}");
                try
                {
                    return (await http.GetAsync(new Uri($"http://127.0.0.1:{health}/healthz"))).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, "the agent's health endpoint answers", TimeSpan.FromSeconds(30));
            return process;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>The built agent binary (or its dll, through dotnet) with <paramref name="args"/>, its output redirected.</summary>
    internal static Process StartAgent(IEnumerable<string> args)
    {
        var agent = ControlPlaneFixture.FindAgent() ?? throw new InvalidOperationException("build the agent first (dotnet build agent)");
        var info = new ProcessStartInfo(agent.EndsWith(".dll", StringComparison.Ordinal) ? "dotnet" : agent)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (agent.EndsWith(".dll", StringComparison.Ordinal))
        {
            info.ArgumentList.Add(agent);
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info)!;
    }

    internal static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
