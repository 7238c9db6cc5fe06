namespace Sidecars.RealNode.Tests;

/// <summary>
/// The README quotes deploy/prometheus as shipped: each operator query of rules.yaml (the ones
/// <see cref="PrometheusScrapingTests"/> runs) and the sidecars' scrape job of scrape-config.yaml. No lane needed.
/// </summary>
public sealed class ShippedPrometheusFilesTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(Lane.RepositoryRoot, "README.md"));

    [Fact]
    public void The_README_gives_the_operator_queries_as_shipped()
    {
        var queries = LanePrometheus.OperatorQueries();
        Assert.Equal(3, queries.Count);
        Assert.All(queries, q => Assert.Contains($"`{q.Expr}`", Readme, StringComparison.Ordinal));
    }

    [Fact]
    public void The_README_gives_the_sidecars_scrape_job_as_shipped()
    {
        var lines = File.ReadAllLines(Path.Combine(LanePrometheus.ShippedDirectory, "scrape-config.yaml"))
            .Where(l => !l.TrimStart().StartsWith('#'))
            .SkipWhile(l => l != $"  - job_name: {LanePrometheus.InjectedJob}")
            .TakeWhile(l => l.Length > 0)
            .ToList();
        Assert.True(lines.Count > 5, $"no job {LanePrometheus.InjectedJob} in scrape-config.yaml");
        Assert.Contains("scrape_configs:\n" + string.Join('\n', lines) + "\n```", Readme, StringComparison.Ordinal);
    }
}
