using System.Globalization;
using System.Text.Json;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Sidecars.RealNode.Tests;

/// <summary>One series of an instant query: its labels and value (NaN and ±Inf as Prometheus writes them).</summary>
public sealed record PromSample(IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : string.Empty;

    public override string ToString() =>
        "{" + string.Join(",", Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}=\"{l.Value}\"")) + "} "
        + Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A question an operator asks of Sidecars: the recorded name and the PromQL of deploy/prometheus/rules.yaml.</summary>
public sealed record OperatorQuery(string Record, string Expr);

/// <summary>
/// The real-node lane's Prometheus (tests/realnode/prometheus.sh) through its HTTP API on loopback, and the files of
/// deploy/prometheus it runs: instant queries, the health of the loaded rules, and the operator queries.
/// </summary>
public sealed class LanePrometheus : IDisposable
{
    /// <summary>Where the lane's Prometheus listens (PROMETHEUS_ADDR in tests/realnode/lane.sh).</summary>
    public const string Address = "127.0.0.1:19090";

    /// <summary>The jobs of deploy/prometheus/scrape-config.yaml.</summary>
    public const string WebhookJob = "sidecars-webhook";
    public const string ClusterAgentJob = "sidecars-cluster-agent";
    public const string InjectedJob = "sidecars-injected";

    private readonly HttpClient _http = new() { BaseAddress = new Uri($"http://{Address}/"), Timeout = TimeSpan.FromSeconds(10) };

    public static string ShippedDirectory => Path.Combine(Lane.RepositoryRoot, "deploy", "prometheus");

    /// <summary>The operator queries, in the order of deploy/prometheus/rules.yaml (the README quotes the same file).</summary>
    public static IReadOnlyList<OperatorQuery> OperatorQueries()
    {
        var rules = new DeserializerBuilder()
            .WithNamingConvention(CamelCaseNamingConvention.Instance)
            .Build()
            .Deserialize<RulesFile>(File.ReadAllText(Path.Combine(ShippedDirectory, "rules.yaml")));
        return [.. rules.Groups.SelectMany(g => g.Rules).Select(r => new OperatorQuery(r.Record, r.Expr.Trim()))];
    }

    /// <summary>An instant query; fails unless Prometheus answers a vector.</summary>
    public async Task<IReadOnlyList<PromSample>> QueryAsync(string promql, CancellationToken ct = default)
    {
        using var body = new FormUrlEncodedContent([new("query", promql)]);
        using var response = await _http.PostAsync("api/v1/query", body, ct);
        using var answer = await ReadAsync(response, ct);
        var data = answer.RootElement.GetProperty("data");
        Assert.Equal("vector", data.GetProperty("resultType").GetString());
        return [.. data.GetProperty("result").EnumerateArray().Select(series => new PromSample(
            series.GetProperty("metric").EnumerateObject().ToDictionary(l => l.Name, l => l.Value.GetString() ?? string.Empty, StringComparer.Ordinal),
            ParseValue(series.GetProperty("value")[1].GetString()!)))];
    }

    /// <summary>Each loaded rule group and its rules' health ("ok", "err", "unknown"), with the last error if any.</summary>
    public async Task<IReadOnlyList<string>> RuleHealthAsync(CancellationToken ct = default)
    {
        using var response = await _http.GetAsync("api/v1/rules", ct);
        using var answer = await ReadAsync(response, ct);
        return [.. answer.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray()
            .SelectMany(g => g.GetProperty("rules").EnumerateArray().Select(r =>
                $"{g.GetProperty("name").GetString()}/{r.GetProperty("name").GetString()}: {r.GetProperty("health").GetString()}"
                + (r.TryGetProperty("lastError", out var error) && error.GetString() is { Length: > 0 } text ? " " + text : string.Empty)))];
    }

    public void Dispose() => _http.Dispose();

    private static double ParseValue(string value) => value switch
    {
        "NaN" => double.NaN,
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static async Task<JsonDocument> ReadAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.IsSuccessStatusCode, $"Prometheus answered {(int)response.StatusCode}: {text}");
        var document = JsonDocument.Parse(text);
        Assert.Equal("success", document.RootElement.GetProperty("status").GetString());
        return document;
    }

    private sealed class RulesFile
    {
        public List<RuleGroup> Groups { get; set; } = [];
    }

    private sealed class RuleGroup
    {
        public string Name { get; set; } = string.Empty;

        public List<Rule> Rules { get; set; } = [];
    }

    private sealed class Rule
    {
        public string Record { get; set; } = string.Empty;

        public string Expr { get; set; } = string.Empty;
    }
}
