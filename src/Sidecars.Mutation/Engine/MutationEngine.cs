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

    /// <summary>
    /// Decides one request. An object shaped in a way the engine cannot use is answered with a reason (the readers
    /// treat missing or mistyped members as absent); an exception means a defect in the engine or its configuration
    /// and reaches the caller, which must not admit the object as if nothing had been decided.
    /// </summary>
    public AdmissionDecision Decide(AdmissionInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
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
}
