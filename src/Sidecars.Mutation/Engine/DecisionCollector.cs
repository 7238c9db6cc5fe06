namespace Sidecars.Mutation;

/// <summary>Accumulates reasons, warnings, counters and the patch of one decision, and builds the result.</summary>
internal sealed class DecisionCollector
{
    private readonly List<DecisionReason> _reasons = [];
    private readonly List<string> _warnings = [];
    private DecisionReason? _gate;

    public PatchBuilder Patch { get; } = new();

    public Dictionary<string, int> Injected { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, int> Rewrites { get; } = new(StringComparer.Ordinal);

    public void Reason(string feature, bool applied, string code, string message) =>
        _reasons.Add(new DecisionReason(feature, applied, code, message));

    /// <summary>Why the object was in scope; listed after the feature reasons.</summary>
    public void Gate(string code, string message) => _gate = new DecisionReason("admission", true, code, message);

    public void Warn(string warning) => _warnings.Add(warning);

    public void CountInjected(string kind) => Injected[kind] = Injected.GetValueOrDefault(kind) + 1;

    public void CountRewrite(string kind, int count = 1) => Rewrites[kind] = Rewrites.GetValueOrDefault(kind) + count;

    public AdmissionDecision Skip(string feature, string code, string message)
    {
        Reason(feature, false, code, message);
        return Build(AdmissionOutcome.Skipped, allowed: true, message: null);
    }

    public AdmissionDecision Unchanged(string feature, string code, string message)
    {
        Reason(feature, false, code, message);
        return Build(AdmissionOutcome.Unchanged, allowed: true, message: null);
    }

    public AdmissionDecision Deny(string feature, string code, string message)
    {
        Reason(feature, false, code, message);
        return Build(AdmissionOutcome.Denied, allowed: false, message);
    }

    public AdmissionDecision Finish(PatchBuilder patch) =>
        Build(patch.Count > 0 ? AdmissionOutcome.Mutated : AdmissionOutcome.Unchanged, allowed: true, message: null, patch);

    private AdmissionDecision Build(AdmissionOutcome outcome, bool allowed, string? message, PatchBuilder? patch = null)
    {
        if (_gate is not null)
        {
            _reasons.Add(_gate);
            _gate = null;
        }

        return new AdmissionDecision
        {
            Allowed = allowed,
            Outcome = outcome,
            PatchJson = patch?.Serialize() ?? [],
            Warnings = _warnings,
            Reasons = _reasons,
            Message = message,
            Injected = Injected,
            Rewrites = Rewrites,
        };
    }
}
