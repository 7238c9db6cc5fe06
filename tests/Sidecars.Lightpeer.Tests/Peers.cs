using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Sidecars.Contracts.V1;
using Sidecars.Lightpeer;

namespace Sidecars.Lightpeer.Tests;

/// <summary>Starts real lightpeer servers in-process, each on its own 127.0.x.y address.</summary>
internal sealed class Peers : IAsyncDisposable
{
    private static int _next = Random.Shared.Next(0, 200 * 250);
    private readonly List<LightpeerServer> _servers = [];
    private readonly List<GrpcChannel> _channels = [];

    public static LightpeerOptions Options(TimeSpan? checkInterval = null, int failureThreshold = 1)
    {
        var n = Interlocked.Increment(ref _next);
        return new LightpeerOptions
        {
            Address = $"127.0.{1 + (n / 250 % 250)}.{1 + (n % 250)}",
            Port = 9081,
            HealthPort = 0,
            CheckInterval = checkInterval ?? TimeSpan.FromMinutes(10),
            CallTimeout = TimeSpan.FromSeconds(5),
            FailureThreshold = failureThreshold,
        };
    }

    public async Task<LightpeerServer> StartAsync(LightpeerOptions? options = null)
    {
        var server = await LightpeerServer.StartAsync(options ?? Options(), CancellationToken.None, l => l.SetMinimumLevel(LogLevel.Warning));
        _servers.Add(server);
        return server;
    }

    public Contracts.V1.Lightpeer.LightpeerClient Client(LightpeerServer server)
    {
        var channel = GrpcChannel.ForAddress("http://" + server.Address);
        _channels.Add(channel);
        return new Contracts.V1.Lightpeer.LightpeerClient(channel);
    }

    public async Task StopAsync(LightpeerServer server)
    {
        _servers.Remove(server);
        await server.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
    }

    public static async Task<(bool, string)> KnowsExactly(Contracts.V1.Lightpeer.LightpeerClient client, IEnumerable<string> expected)
    {
        var peers = (await client.PeersAsync(new PeersRequest())).Peers.Order(StringComparer.Ordinal).ToArray();
        return (peers.SequenceEqual(expected.Order(StringComparer.Ordinal)), string.Join(",", peers));
    }
}
