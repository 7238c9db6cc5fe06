namespace Sidecars.Mutation;

/// <summary>
/// The admission decision as a pure function: request plus configuration in, decision out. No I/O, no clock, no
/// shared mutable state; safe to call concurrently. The webhook, the CLI and the tests all call this.
/// </summary>
public sealed class MutationEngine
{
    private readonly EngineSettings _settings;

    public MutationEngine(InjectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _settings = new EngineSettings(options);
    }

    public AdmissionDecision Decide(AdmissionInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            if (WorkloadKinds.IsPod(input.Kind))
            {
                return new PodMutation(_settings, input).Decide();
            }

            if (WorkloadKinds.TemplatePath(input.Kind) is { } templatePath)
            {
                return new WorkloadStamper(_settings, input, templatePath).Decide();
            }

            return new DecisionCollector().Skip("admission", "unsupported-kind", $"{input.Kind} is not handled");
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException or IndexOutOfRangeException)
        {
            // The object is shaped in a way the tolerant readers did not expect: admit it untouched and say so.
            var collector = new DecisionCollector();
            collector.Warn("sidecars: object not understood, admitted unchanged");
            return collector.Skip("admission", "invalid-object", e.Message);
        }
    }
}
