using System.Globalization;

namespace Sidecars.LocalCluster;

/// <summary>
/// One webhook's pod CREATE admissions as kube-apiserver records them in
/// <c>apiserver_admission_webhook_admission_duration_seconds</c> (type admit, rejected or not).
/// </summary>
public sealed record WebhookAdmissionMetrics(long Count, double SumSeconds, IReadOnlyList<(double UpperBoundSeconds, long Cumulative)> Buckets)
{
    public const string Metric = "apiserver_admission_webhook_admission_duration_seconds";

    public double MeanSeconds => Count == 0 ? 0 : SumSeconds / Count;

    /// <summary>Reads the series of webhook <paramref name="webhookName"/> from a Prometheus text exposition.</summary>
    public static WebhookAdmissionMetrics Parse(string exposition, string webhookName)
    {
        ArgumentNullException.ThrowIfNull(exposition);
        long count = 0;
        double sum = 0;
        var buckets = new Dictionary<double, long>();
        foreach (var line in exposition.Split('\n'))
        {
            if (!line.StartsWith(Metric, StringComparison.Ordinal) || !line.Contains($"name=\"{webhookName}\"", StringComparison.Ordinal)
                || !line.Contains("operation=\"CREATE\"", StringComparison.Ordinal) || !line.Contains("type=\"admit\"", StringComparison.Ordinal))
            {
                continue;
            }

            var value = double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            if (line.StartsWith(Metric + "_count", StringComparison.Ordinal))
            {
                count += (long)value;
            }
            else if (line.StartsWith(Metric + "_sum", StringComparison.Ordinal))
            {
                sum += value;
            }
            else if (line.StartsWith(Metric + "_bucket", StringComparison.Ordinal) && UpperBound(line) is { } le)
            {
                buckets[le] = buckets.GetValueOrDefault(le) + (long)value;
            }
        }

        return new WebhookAdmissionMetrics(count, sum, [.. buckets.OrderBy(b => b.Key).Select(b => (b.Key, b.Value))]);
    }

    private static double? UpperBound(string line)
    {
        var start = line.IndexOf("le=\"", StringComparison.Ordinal) + 4;
        var end = line.IndexOf('"', start);
        var text = line[start..end];
        return text == "+Inf" ? null : double.Parse(text, CultureInfo.InvariantCulture);
    }
}
