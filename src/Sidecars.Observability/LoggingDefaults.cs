using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Sidecars.Observability;

/// <summary>
/// Production log levels of every Sidecars host, in code so that they hold without an appsettings.json: ASP.NET
/// Core's own categories log a line per request at Information (hosting, routing, gRPC calls), which on an admission
/// webhook or a busy cluster agent is noise that costs CPU. A level set in configuration (<c>Logging:LogLevel:...</c>)
/// wins over these.
/// </summary>
public static class LoggingDefaults
{
    private static readonly (string Category, LogLevel Level)[] Levels =
    [
        ("Microsoft.AspNetCore", LogLevel.Warning),
        ("Grpc.AspNetCore.Server", LogLevel.Warning),
        ("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Warning),
        ("System.Net.Http.HttpClient", LogLevel.Warning),
    ];

    public static ILoggingBuilder AddSidecarsDefaults(this ILoggingBuilder logging, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(logging);
        ArgumentNullException.ThrowIfNull(configuration);
        foreach (var (category, level) in Levels)
        {
            if (configuration[$"Logging:LogLevel:{category}"] is null)
            {
                logging.AddFilter(category, level);
            }
        }

        return logging;
    }
}
