using System.Net;

namespace Sidecars.PodAgent.Tests;

/// <summary>The real pod-agent command running in-process on 127.0.0.1, as the kubelet would start it.</summary>
internal sealed class RunningAgent : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private RunningAgent(int port, IReadOnlyDictionary<string, string> environment, string[] args)
    {
        Port = port;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        Exited = Task.Run(() => PodAgentCommand.RunAsync(args, name => environment.GetValueOrDefault(name), Error, _stop.Token));
    }

    public int Port { get; }

    public HttpClient Http { get; }

    public StringWriter Error { get; } = new();

    /// <summary>The command's exit code once it returns.</summary>
    public Task<int> Exited { get; }

    public static async Task<RunningAgent> StartAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = FreePort.Next();
        var agent = new RunningAgent(port, environment ?? new Dictionary<string, string>(),
            ["--pod-ip", "127.0.0.1", "--health-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args]);
        await agent.WaitReadyAsync();
        return agent;
    }

    private async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (Exited.IsCompleted)
            {
                throw new InvalidOperationException($"the pod-agent exited with {await Exited}: {Error}");
            }

            try
            {
                using var response = await Http.GetAsync("/readyz");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"the pod-agent did not become ready on port {Port} within 30s: {Error}");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Exited.WaitAsync(TimeSpan.FromSeconds(30));
        Http.Dispose();
        _stop.Dispose();
    }
}
