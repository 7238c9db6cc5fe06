using Prometheus;

namespace Sidecars.PodAgent.Tokens;

internal static class TokenMetrics
{
    public static readonly Counter Requests = Metrics.CreateCounter(
        "sidecars_podagent_token_requests_total", "GET /token/<key> requests by outcome.", "outcome");
}
