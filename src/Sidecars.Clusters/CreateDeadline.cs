using System.Globalization;
using Sidecars.Conventions;

namespace Sidecars.Clusters;

/// <summary>
/// A create's deadline, stored on the cluster's Deployment (annotations <see cref="SidecarsAnnotations.CreateDeadline"/>,
/// <see cref="SidecarsAnnotations.CreateTimeout"/>, <see cref="SidecarsAnnotations.OnTimeout"/>) so that every replica
/// judges it alike and whichever leads enforces it, also when the replica that received the create is gone. It applies
/// until Kubernetes first completes the Deployment's rollout.
/// </summary>
public sealed record CreateDeadline(DateTimeOffset At, TimeSpan Timeout, bool DeleteOnTimeout)
{
    private const string Delete = "delete";
    private const string Leave = "leave";

    public static CreateDeadline After(DateTimeOffset now, TimeSpan timeout, bool deleteOnTimeout) =>
        new(Truncate(now + timeout), timeout, deleteOnTimeout);

    public IReadOnlyDictionary<string, string> ToAnnotations() => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [SidecarsAnnotations.CreateDeadline] = At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        [SidecarsAnnotations.CreateTimeout] = Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture),
        [SidecarsAnnotations.OnTimeout] = DeleteOnTimeout ? Delete : Leave,
    };

    /// <summary>The deadline the annotations carry; null when absent or not understood (then none applies).</summary>
    public static CreateDeadline? From(IDictionary<string, string>? annotations)
    {
        if (annotations is null
            || !annotations.TryGetValue(SidecarsAnnotations.CreateDeadline, out var at)
            || !DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var deadline))
        {
            return null;
        }

        var timeout = annotations.TryGetValue(SidecarsAnnotations.CreateTimeout, out var seconds)
            && double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is >= 0 and < 1e9
            ? TimeSpan.FromSeconds(value)
            : TimeSpan.Zero;
        var delete = annotations.TryGetValue(SidecarsAnnotations.OnTimeout, out var action) && action == Delete;
        return new CreateDeadline(deadline, timeout, delete);
    }

    /// <summary>Millisecond precision, as the annotation keeps it, so the stored and the local deadline are equal.</summary>
    private static DateTimeOffset Truncate(DateTimeOffset at) => new(at.UtcTicks - (at.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
}
