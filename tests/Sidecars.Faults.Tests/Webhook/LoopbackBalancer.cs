using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Sidecars.Faults.Tests.Webhook;

/// <summary>
/// A Service in front of webhook replicas, on loopback: each TCP connection is passed through (TLS and all) to the next
/// ready endpoint in turn that accepts it; a connection no endpoint accepts is reset, as kube-proxy rejects one for a
/// Service without endpoints. As with an EndpointSlice, a replica is an endpoint only while it is ready: the caller
/// removes it when its pod starts terminating (the replica's drain period covers the time kube-proxy takes to notice)
/// and adds it back once its readiness probe passes, never while it is still starting. Like kube-proxy, it forwards
/// in the kernel's time, not the test's: the accept loop and every connection's copying run on threads of their own,
/// so that whatever else runs in the test process (its thread pool busy or starved) never delays a review.
/// </summary>
internal sealed class LoopbackBalancer : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly ConcurrentDictionary<int, bool> _ready = new();
    private readonly ConcurrentDictionary<Socket, bool> _open = new();
    private readonly ConcurrentDictionary<Thread, bool> _threads = new();
    private readonly ConcurrentDictionary<int, int> _accepted = new();
    private readonly Thread _accepting;
    private volatile bool _stopping;
    private int _next = -1;
    private int _refused;

    public LoopbackBalancer(IReadOnlyList<int> backendPorts)
    {
        foreach (var port in backendPorts)
        {
            _ready[port] = true;
        }

        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(512);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _accepting = Start("balancer-accept", Accept);
    }

    public int Port { get; }

    /// <summary>Connections passed to the replica on <paramref name="port"/>.</summary>
    public int Accepted(int port) => _accepted.GetValueOrDefault(port);

    /// <summary>The replica on <paramref name="port"/> is ready (true) and receives new connections, or is not (false).</summary>
    public void SetReady(int port, bool ready) => _ready[port] = ready;

    /// <summary>Connections that no replica accepted.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public ValueTask DisposeAsync()
    {
        _stopping = true;
        _listener.Dispose();
        foreach (var socket in _open.Keys)
        {
            socket.Dispose();
        }

        _accepting.Join();
        foreach (var thread in _threads.Keys)
        {
            thread.Join();
        }

        return ValueTask.CompletedTask;
    }

    private Thread Start(string name, Action run)
    {
        var thread = new Thread(() => run()) { IsBackground = true, Name = name };
        _threads[thread] = true;
        thread.Start();
        return thread;
    }

    private void Accept()
    {
        while (!_stopping)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            Start("balancer-connection", () => Serve(client));
        }
    }

    private void Serve(Socket client)
    {
        _open[client] = true;
        try
        {
            using (client)
            {
                using var backend = Connect();
                if (backend is null)
                {
                    Interlocked.Increment(ref _refused);
                    client.LingerState = new LingerOption(true, 0);
                    return;
                }

                _open[backend] = true;
                try
                {
                    // Either direction ending (or failing) ends the connection, as the previous side closing does.
                    var up = new Thread(() => Copy(client, backend, client, backend)) { IsBackground = true, Name = "balancer-up" };
                    up.Start();
                    Copy(backend, client, client, backend);
                    up.Join();
                }
                finally
                {
                    _open.TryRemove(backend, out _);
                }
            }
        }
        finally
        {
            _open.TryRemove(client, out _);
            _threads.TryRemove(Thread.CurrentThread, out _);
        }
    }

    /// <summary>The next ready replica in turn that accepts a connection, or null when none does.</summary>
    private Socket? Connect()
    {
        var endpoints = _ready.Where(e => e.Value).Select(e => e.Key).Order().ToArray();
        for (var tried = 0; tried < endpoints.Length; tried++)
        {
            var port = endpoints[(int)((uint)Interlocked.Increment(ref _next) % (uint)endpoints.Length)];
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                // On loopback a connect is answered at once: accepted, or refused when nothing listens.
                socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
                _accepted.AddOrUpdate(port, 1, (_, count) => count + 1);
                return socket;
            }
            catch (SocketException)
            {
                socket.Dispose();
            }
        }

        return null;
    }

    /// <summary>Copies until the source ends, half-closes the destination so the other side sees the end, then ends the connection.</summary>
    private static void Copy(Socket source, Socket destination, Socket client, Socket backend)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = source.Receive(buffer)) > 0)
            {
                for (var sent = 0; sent < read;)
                {
                    sent += destination.Send(buffer, sent, read - sent, SocketFlags.None);
                }
            }

            destination.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The other side went away (or the balancer stops): the connection ends.
        }

        // Unblocks the other direction's Receive.
        Close(client);
        Close(backend);
    }

    private static void Close(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
    }
}
