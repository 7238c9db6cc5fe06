using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sidecars.Conventions;
using Sidecars.Mutation;
using Sidecars.Webhook.Admission;
using Sidecars.Webhook.Metrics;

namespace Sidecars.Webhook.Tests;

/// <summary>
/// A defect in the engine is not a verdict on the pod: the webhook answers 500 (so the apiserver applies the
/// failurePolicy, and a fail-closed namespace refuses the pod), counts it and logs it as an error.
/// </summary>
public sealed class EngineFailureTests : IAsyncLifetime
{
    // The replica's warm-up meets the same defect and logs it under its own category (it keeps the replica unready).
    private static readonly string HandlerCategory = typeof(AdmissionHandler).FullName!;
    private readonly TestCertificates _certificates = new();
    private readonly RecordingLoggerProvider _logs = new();
    private WebhookServer? _server;

    public async Task InitializeAsync()
    {
        // The engine is built from options that never went through validation: no claim name template. Any opted-in
        // pod with the data volume makes the engine dereference it, the kind of defect the webhook must not hide.
        var unvalidated = new InjectionOptions { Registry = "registry.test/team", ClaimNameTemplate = null! };
        _server = await WebhookServer.StartAsync(_certificates, services: services =>
        {
            services.AddSingleton(new MutationEngine(unvalidated));
            services.AddSingleton<INamespaceLabelSource, FailClosedNamespaces>();
            services.AddSingleton<ILoggerProvider>(_logs);
        });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _certificates.Dispose();
    }

    [Fact]
    public async Task A_programming_error_answers_500_with_its_own_metric_and_an_error_log()
    {
        using var client = _server!.CreateClient();
        var failures = WebhookMetrics.AdmissionRequests.WithLabels("error", "internal-error");
        var before = failures.Value;

        using var content = new StringContent(Fixtures.Read("team-a_jupyter-alice_create.json"), Encoding.UTF8, "application/json");
        using var response = await client.PostAsync("/mutate", content);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.StartsWith("internal-error:", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before + 1, failures.Value);
        var logged = Assert.Single(_logs.Entries, e => e.Level == LogLevel.Error && e.Category == HandlerCategory);
        Assert.Contains("team-a/jupyter-alice", logged.Message, StringComparison.Ordinal);
        Assert.IsType<ArgumentNullException>(logged.Exception);
    }

    [Fact]
    public async Task Requests_the_defect_does_not_touch_are_still_answered()
    {
        using var client = _server!.CreateClient();

        using var content = new StringContent(Fixtures.Read("team-a_lightpeer-a_create.json"), Encoding.UTF8, "application/json");
        using var response = await client.PostAsync("/mutate", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(_logs.Entries, e => e.Level == LogLevel.Error && e.Category == HandlerCategory);
    }

    /// <summary>Every namespace opted in by label: where the webhook is registered with failurePolicy Fail.</summary>
    private sealed class FailClosedNamespaces : INamespaceLabelSource
    {
        private static readonly IReadOnlyDictionary<string, string> OptedIn =
            new Dictionary<string, string> { [SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled };

        public ValueTask<IReadOnlyDictionary<string, string>?> GetLabelsAsync(string @namespace, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyDictionary<string, string>?>(OptedIn);
    }

    private sealed record LogEntry(string Category, LogLevel Level, string Message, Exception? Exception);

    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<LogEntry> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Recorder(categoryName, Entries);

        public void Dispose()
        {
        }

        private sealed class Recorder(string category, ConcurrentQueue<LogEntry> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue(new LogEntry(category, logLevel, formatter(state, exception), exception));
        }
    }
}
