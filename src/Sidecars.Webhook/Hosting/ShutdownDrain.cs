using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Sidecars.Webhook.Hosting;

/// <summary>
/// Graceful stop of a webhook replica in a rolling update: the stop signal does not close the listener at once. For
/// <see cref="WebhookOptions.DrainPeriod"/> the replica keeps answering, and every HTTP/1.1 answer carries
/// <c>Connection: close</c>, so a client holding a pooled connection to this replica sends its next review on a new
/// connection, which the Service gives to a replica that stays. Then the host stops as usual (Kestrel finishes requests
/// in flight and sends HTTP/2 clients GOAWAY).
/// </summary>
public sealed partial class ShutdownDrain(IOptions<WebhookOptions> options, ILogger<ShutdownDrain> logger) : IHostedLifecycleService
{
    private volatile bool _draining;

    /// <summary>True from the stop signal on.</summary>
    public bool Draining => _draining;

    /// <summary>Marks HTTP/1.1 answers <c>Connection: close</c> while draining.</summary>
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (_draining && HttpProtocol.IsHttp11(context.Request.Protocol))
        {
            context.Response.Headers.Connection = "close";
        }

        return next(context);
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var period = options.Value.DrainPeriod;
        _draining = true;
        if (period <= TimeSpan.Zero)
        {
            return;
        }

        Log.Draining(logger, period.TotalSeconds);
        try
        {
            await Task.Delay(period, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ended the drain early.
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Stopping: answering for {Seconds} s more, asking clients to reconnect elsewhere")]
        public static partial void Draining(ILogger logger, double seconds);
    }
}

/// <summary>Puts <see cref="ShutdownDrain"/> first in the request pipeline.</summary>
internal sealed class ShutdownDrainStartupFilter(ShutdownDrain drain) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(drain.InvokeAsync);
        next(app);
    };
}
