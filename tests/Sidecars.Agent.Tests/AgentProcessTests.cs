using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Sidecars.Testing;

namespace Sidecars.Agent.Tests;

/// <summary>The built agent binary, run as the kubelet runs it: what it holds from the kernel once serving.</summary>
public sealed class AgentProcessTests
{
    public static TheoryData<string> Roles => new() { "lightpeer", "pod-agent" };

    [Theory]
    [MemberData(nameof(Roles))]
    public async Task A_serving_agent_holds_no_inotify_instance(string role)
    {
        var agent = ControlPlaneFixture.FindAgent() ?? throw new InvalidOperationException("build the agent first (dotnet build agent)");
        var (port, health) = (FreePort(), FreePort());
        string[] args = role == "lightpeer"
            ? ["lightpeer", "--address", "127.0.0.1", "--port", Text(port), "--health-port", Text(health)]
            : ["pod-agent", "--tokens-only", "--pod-ip", "127.0.0.1", "--health-port", Text(health)];
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

        using var process = Process.Start(info)!;
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

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
