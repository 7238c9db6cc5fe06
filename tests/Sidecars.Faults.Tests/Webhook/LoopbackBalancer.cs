using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Sidecars.Faults.Tests.Webhook;

/// <summary>
/// A Service in front of webhook replicas, on loopback: each TCP connection is passed through (TLS and all) to the next
/// ready endpoint in turn that accepts it; a connection no endpoint accepts is reset, as kube-proxy rejects one for a
/// Service without endpoints. As with an EndpointSlice, a replica is an endpoint only while it is ready: the caller
/// removes it when its pod starts terminating (the replica's drain period covers the time kube-proxy takes to notice)
/// and adds it back once its readiness probe passes, never while it is still starting.
/// </summary>
internal sealed class LoopbackBalancer : IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<int, bool> _ready = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly Task _accepting;
    private readonly ConcurrentDictionary<int, int> _accepted = new();
    private int _next = -1;
    private int _refused;

    public LoopbackBalancer(IReadOnlyList<int> backendPorts)
    {
        foreach (var port in backendPorts)
        {
            _ready[port] = true;
        }

        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Connections passed to the replica on <paramref name="port"/>.</summary>
    public int Accepted(int port) => _accepted.GetValueOrDefault(port);

    /// <summary>The replica on <paramref name="port"/> is ready (true) and receives new connections, or is not (false).</summary>
    public void SetReady(int port, bool ready) => _ready[port] = ready;

    /// <summary>Connections that no replica accepted.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        await Task.WhenAll(_connections.Keys);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var connection = ServeAsync(client);
            _connections[connection] = true;
            _ = connection.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            using var backend = await ConnectAsync();
            if (backend is null)
            {
                Interlocked.Increment(ref _refused);
                client.LingerState = new LingerOption(true, 0);
                return;
            }

            using var pipe = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            await using var fromClient = new NetworkStream(client, ownsSocket: false);
            await using var toBackend = new NetworkStream(backend, ownsSocket: false);
            var up = CopyAsync(fromClient, backend, pipe.Token);
            var down = CopyAsync(toBackend, client, pipe.Token);
            await Task.WhenAny(up, down);
            await pipe.CancelAsync();
            await Task.WhenAll(up, down);
        }
    }

    /// <summary>The next ready replica in turn that accepts a connection, or null when none does.</summary>
    private async Task<Socket?> ConnectAsync()
    {
        var endpoints = _ready.Where(e => e.Value).Select(e => e.Key).Order().ToArray();
        for (var tried = 0; tried < endpoints.Length; tried++)
        {
            var port = endpoints[(int)((uint)Interlocked.Increment(ref _next) % (uint)endpoints.Length)];
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(ConnectTimeout);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
                _accepted.AddOrUpdate(port, 1, (_, count) => count + 1);
                return socket;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
            }
        }

        return null;
    }

    /// <summary>Copies until the source ends, then half-closes the destination so the other side sees the end.</summary>
    private static async Task CopyAsync(NetworkStream source, Socket destination, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, ct)) > 0)
            {
                await destination.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, ct);
            }

            destination.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The other side went away (or the balancer stops): the connection ends.
        }
    }
}
