using System.Diagnostics.Metrics;

namespace Sidecars.Observability;

/// <summary>
/// Which .NET meters a Sidecars process publishes on /metrics. prometheus-net publishes every meter once it is first
/// scraped, and several of ASP.NET Core's then take a measurement on every request or every buffer rented
/// (<c>http.server.request.duration</c>, routing, the memory pool): work on every admission, RPC and peer exchange
/// that each process's own metrics already cover. Only the meters listed here are listened to: the runtime's, Kestrel's
/// connections and TLS handshakes (where a wrong CA shows), the HTTP client (calls to the apiserver), leadership and the
/// controllers' work queues. The rest cost nothing.
/// </summary>
public static class MeterPublishing
{
    private static readonly string[] Published = ["System.Runtime", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "Sidecars.WorkQueue", "Sidecars.Leadership"];

    public static bool IsPublished(Instrument instrument)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        return Published.Contains(instrument.Meter.Name, StringComparer.Ordinal);
    }

    /// <summary>Applies the filter; prometheus-net reads it when /metrics is first scraped.</summary>
    public static void Configure() => Prometheus.Metrics.ConfigureMeterAdapter(options => options.InstrumentFilterPredicate = IsPublished);
}
