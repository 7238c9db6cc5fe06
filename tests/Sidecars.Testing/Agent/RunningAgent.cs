using System.Net;
using Sidecars.PodAgent;

namespace Sidecars.Testing.Agent;

/// <summary>The real pod-agent command running in-process on 127.0.0.1, as the kubelet would start it.</summary>
public sealed class RunningAgent : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private RunningAgent(int port, int tokenPort, IReadOnlyDictionary<string, string> environment, string[] args)
    {
        Port = port;
        TokenPort = tokenPort;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        Exited = Task.Run(() => PodAgentCommand.RunAsync(args, name => environment.GetValueOrDefault(name), Error, _stop.Token));
    }

    /// <summary>The plain health port (/healthz, /readyz, /metrics).</summary>
    public int Port { get; }

    /// <summary>The TLS token port (listening when a token directory is given).</summary>
    public int TokenPort { get; }

    public Uri TokenUrl(string key) => new($"https://127.0.0.1:{TokenPort}/token/{key}");

    public HttpClient Http { get; }

    public StringWriter Error { get; } = new();

    /// <summary>The command's exit code once it returns.</summary>
    public Task<int> Exited { get; }

    public static async Task<RunningAgent> StartAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = FreePort.Next();
        var tokenPort = FreePort.Next();
        var agent = new RunningAgent(port, tokenPort, environment ?? new Dictionary<string, string>(),
        [
            "--pod-ip", "127.0.0.1", "--health-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--token-port", tokenPort.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args,
        ]);
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
