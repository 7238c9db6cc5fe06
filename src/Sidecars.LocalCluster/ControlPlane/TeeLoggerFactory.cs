using Microsoft.Extensions.Logging;

namespace Sidecars.LocalCluster;

/// <summary>Loggers that write both to the caller's factory (if any) and to the state-directory log file.</summary>
internal sealed class TeeLoggerFactory(ILoggerFactory? outer, FileLoggerProvider file) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) =>
        outer is null ? file.CreateLogger(categoryName) : new TeeLogger(outer.CreateLogger(categoryName), file.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => outer?.AddProvider(provider);

    public void Dispose() => file.Dispose();

    private sealed class TeeLogger(ILogger first, ILogger second) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => first.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => first.IsEnabled(logLevel) || second.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (first.IsEnabled(logLevel))
            {
                first.Log(logLevel, eventId, state, exception, formatter);
            }

            if (second.IsEnabled(logLevel))
            {
                second.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
