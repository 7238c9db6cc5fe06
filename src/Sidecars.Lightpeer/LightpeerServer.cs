using System.Net;
using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;
using Sidecars.AgentLifecycle;
using Sidecars.Observability;

namespace Sidecars.Lightpeer;

/// <summary>
/// A running lightpeer: gRPC on address:port (mutual TLS with a TLS directory, else h2c), /healthz /readyz /metrics on address:health-port.
/// Used by the agent's lightpeer role and, in-process, by tests.
/// </summary>
public sealed partial class LightpeerServer : IAsyncDisposable
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
            k.Listen(ip, options.Port, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                if (options.TlsDirectory is not null)
                {
                    var tls = k.ApplicationServices.GetRequiredService<PeerTls>();
                    l.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificateSelector = (_, _) => tls.Current?.Certificate,
                        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        // Asked for, checked by PeerAuthorization: a caller without one gets a status with a reason.
                        ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                        ClientCertificateValidation = (_, _, _) => true,
                    });
                }
            });
            if (options.HealthPort > 0)
            {
                k.Listen(ip, options.HealthPort, l => l.Protocols = HttpProtocols.Http1);
            }
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        if (options.TlsDirectory is { } directory)
        {
            builder.Services.AddSingleton<PeerTls>(sp => new PeerTlsDirectory(
                directory, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger<PeerTlsDirectory>()));
            builder.Services.AddSingleton<PeerAuthorization>();
            builder.Services.AddGrpc(grpc => grpc.Interceptors.Add<PeerAuthorization>());
        }
        else
        {
            builder.Services.AddGrpc();
        }

        builder.Services.AddSingleton(sp => new LightpeerNode(
            options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<LightpeerNode>>(), sp.GetService<PeerTls>()));
        builder.Services.AddHostedService<PeerMaintenance>();

        var app = builder.Build();
        app.MapGrpcService<LightpeerService>();
        if (options.HealthPort > 0)
        {
            var health = $"*:{options.HealthPort}";
            app.MapGet("/healthz", new RequestDelegate(c => c.Response.WriteAsync("ok"))).RequireHost(health);
            // Ready once in a network, as a proxy is Ready once it has its first configuration: the pod takes no
            // traffic while its peers cannot reach it, and the network controller joins a running lightpeer without
            // waiting for this probe.
            var node = app.Services.GetRequiredService<LightpeerNode>();
            app.MapGet("/readyz", new RequestDelegate(c =>
            {
                if (node.IsMember)
                {
                    return c.Response.WriteAsync("ready");
                }

                c.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return c.Response.WriteAsync("not in a network yet: waiting for the network controller to join this pod");
            })).RequireHost(health);
            app.MapMetrics().RequireHost(health);
        }

        await app.StartAsync(cancellationToken);
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<LightpeerServer>();
        if (app.Services.GetService<PeerTls>() is { } peerTls)
        {
            if (peerTls.Current is null)
            {
                Log.NoMaterialYet(log, options.TlsDirectory!);
            }
        }
        else
        {
            Log.Plain(log, options.SelfAddress);
        }

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

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Lightpeer {Address} serves without TLS (no --tls-dir): any caller can make it join or forget peers")]
        public static partial void Plain(ILogger logger, string address);

        [LoggerMessage(2, LogLevel.Warning, "Lightpeer TLS directory {Directory} holds no usable material yet: every call is refused until it does")]
        public static partial void NoMaterialYet(ILogger logger, string directory);
    }
}
