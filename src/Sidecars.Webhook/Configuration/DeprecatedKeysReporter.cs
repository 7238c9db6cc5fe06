using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Sidecars.Webhook.Configuration;

/// <summary>Logs once at start which deprecated configuration keys the host still reads.</summary>
internal sealed partial class DeprecatedKeysReporter(string warning, ILogger<DeprecatedKeysReporter> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Deprecated(logger, warning);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(1, LogLevel.Warning, "{Warning}")]
    private static partial void Deprecated(ILogger logger, string warning);
}
