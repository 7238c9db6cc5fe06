namespace Sidecars.Clusters.Tests;

public sealed class CreateDeadlineTests
{
    public static TheoryData<Dictionary<string, string>?, string?> Annotations => new()
    {
        { null, null },
        { [], null },
        { new() { ["sidecars.io/create-deadline"] = "2026-12-02T05:30:00.250Z", ["sidecars.io/create-timeout"] = "30", ["sidecars.io/on-timeout"] = "delete" }, "2026-12-02T05:30:00.2500000+00:00 00:00:30 True" },
        { new() { ["sidecars.io/create-deadline"] = "2026-12-02T05:30:00Z", ["sidecars.io/create-timeout"] = "2.5", ["sidecars.io/on-timeout"] = "leave" }, "2026-12-02T05:30:00.0000000+00:00 00:00:02.5000000 False" },
        // Without the action the cluster is left in place; without a timeout the message says 0 s.
        { new() { ["sidecars.io/create-deadline"] = "2026-12-02T05:30:00Z" }, "2026-12-02T05:30:00.0000000+00:00 00:00:00 False" },
        { new() { ["sidecars.io/create-deadline"] = "2026-12-02T05:30:00Z", ["sidecars.io/create-timeout"] = "-1", ["sidecars.io/on-timeout"] = "Delete" }, "2026-12-02T05:30:00.0000000+00:00 00:00:00 False" },
        { new() { ["sidecars.io/create-deadline"] = "soon", ["sidecars.io/on-timeout"] = "delete" }, null },
        { new() { ["sidecars.io/create-timeout"] = "30", ["sidecars.io/on-timeout"] = "delete" }, null },
    };

    [Theory]
    [MemberData(nameof(Annotations))]
    public void Reads_the_deadline_from_the_annotations(Dictionary<string, string>? annotations, string? expected)
    {
        var deadline = CreateDeadline.From(annotations);
        Assert.Equal(expected, deadline is null ? null : FormattableString.Invariant($"{deadline.At:O} {deadline.Timeout} {deadline.DeleteOnTimeout}"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Annotations_round_trip_at_millisecond_precision(bool delete)
    {
        var deadline = CreateDeadline.After(new DateTimeOffset(2026, 12, 2, 5, 30, 0, TimeSpan.Zero).AddTicks(1234567), TimeSpan.FromSeconds(7.5), delete);
        Assert.Equal(deadline, CreateDeadline.From(new Dictionary<string, string>(deadline.ToAnnotations())));
    }
}
