using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;
using Sidecars.AgentLifecycle;
using Sidecars.Observability;

namespace Sidecars.Lightpeer;

/// <summary>
/// A running lightpeer: gRPC (h2c) on address:port, /healthz /readyz /metrics on address:health-port.
/// Used by the agent's lightpeer role and, in-process, by tests.
/// </summary>
public sealed class LightpeerServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LightpeerServer(WebApplication app, LightpeerNode node)
    {
        _app = app;
        Node = node;
    }

    public LightpeerNode Node { get; }

    public string Address => Node.Self;

    /// <summary>The host's logger factory, for the role's own components.</summary>
    public ILoggerFactory Loggers => _app.Services.GetRequiredService<ILoggerFactory>();

    public static async Task<LightpeerServer> StartAsync(
        LightpeerOptions options, CancellationToken cancellationToken, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        MeterPublishing.Configure();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = AgentHostArguments.NoFileWatching });
        builder.Logging.ClearProviders();
        if (logging is null)
        {
            // Per-request logs would cost more than the peer protocol itself.
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true)
                .AddFilter("Microsoft", LogLevel.Warning)
                .AddFilter("Grpc", LogLevel.Warning);
        }
        else
        {
            logging(builder.Logging);
        }

        var ip = IPAddress.Parse(options.Address);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(ip, options.Port, l => l.Protocols = HttpProtocols.Http2);
            if (options.HealthPort > 0)
            {
                k.Listen(ip, options.HealthPort, l => l.Protocols = HttpProtocols.Http1);
            }
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<LightpeerNode>();
        builder.Services.AddHostedService<PeerMaintenance>();
        builder.Services.AddGrpc();

        var app = builder.Build();
        app.MapGrpcService<LightpeerService>();
        if (options.HealthPort > 0)
        {
            var health = $"*:{options.HealthPort}";
            app.MapGet("/healthz", new RequestDelegate(c => c.Response.WriteAsync("ok"))).RequireHost(health);
            app.MapGet("/readyz", new RequestDelegate(c => c.Response.WriteAsync("ready"))).RequireHost(health);
            app.MapMetrics().RequireHost(health);
        }

        await app.StartAsync(cancellationToken);
        return new LightpeerServer(app, app.Services.GetRequiredService<LightpeerNode>());
    }

    /// <summary>Completes when the caller cancels or the host is told to stop (SIGTERM, SIGINT).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken)
    {
        var stopping = _app.Lifetime.ApplicationStopping;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = stopping.Register(() => done.TrySetResult());
        var second = cancellationToken.Register(() => done.TrySetResult());
        return done.Task.ContinueWith(
            _ =>
            {
                first.Dispose();
                second.Dispose();
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
