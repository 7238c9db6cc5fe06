using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Sidecars.Testing.PodApi;

/// <summary>
/// The two pod calls the apps-done watcher makes (GET and watch of one pod), served over plain HTTP on 127.0.0.1 with
/// the current pod and watch events under the test's control.
/// </summary>
public sealed class FakeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<string> _events = Channel.CreateUnbounded<string>();
    private string _pod;

    private FakeApiServer(string pod)
    {
        _pod = pod;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapGet("/api/v1/namespaces/{ns}/pods/{name}", (RequestDelegate)GetAsync);
        _app.MapGet("/api/v1/namespaces/{ns}/pods", (RequestDelegate)WatchAsync);
    }

    public Uri Address => new(_app.Urls.First());

    /// <summary>Status code answered to GETs instead of the pod while set (e.g. 403 before RBAC exists).</summary>
    public HttpStatusCode? Refuse { get; set; }

    public ConcurrentQueue<string> Requests { get; } = new();

    public ConcurrentQueue<string?> Authorizations { get; } = new();

    public int Gets => Requests.Count(r => !r.Contains("watch=true", StringComparison.Ordinal));

    public static async Task<FakeApiServer> StartAsync(string pod)
    {
        var server = new FakeApiServer(pod);
        await server._app.StartAsync();
        return server;
    }

    public void SetPod(string pod) => _pod = pod;

    /// <summary>Sends one event on the open (or next) watch.</summary>
    public void Send(string type, string json) => _events.Writer.TryWrite($$"""{"type":"{{type}}","object":{{json}}}""");

    public void SendGone() => Send("ERROR", """{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version","reason":"Expired","code":410}""");

    public async ValueTask DisposeAsync()
    {
        _events.Writer.TryComplete();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private Task GetAsync(HttpContext context)
    {
        Record(context);
        if (Refuse is { } status)
        {
            context.Response.StatusCode = (int)status;
            return context.Response.WriteAsync($$"""{"kind":"Status","code":{{(int)status}},"message":"pods is forbidden"}""");
        }

        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(_pod);
    }

    private async Task WatchAsync(HttpContext context)
    {
        Record(context);
        context.Response.ContentType = "application/json";
        await context.Response.Body.FlushAsync(context.RequestAborted);
        try
        {
            await foreach (var line in _events.Reader.ReadAllAsync(context.RequestAborted))
            {
                await context.Response.WriteAsync(line + "\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                if (line.Contains("\"ERROR\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The watcher went away.
        }
    }

    private void Record(HttpContext context)
    {
        Requests.Enqueue(context.Request.Path + context.Request.QueryString);
        Authorizations.Enqueue(context.Request.Headers.Authorization.ToString());
    }
}
