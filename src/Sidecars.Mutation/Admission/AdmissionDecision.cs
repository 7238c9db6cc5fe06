namespace Sidecars.Mutation;

/// <summary>The engine's answer to one request: allowed or not, the patch, and why.</summary>
public sealed record AdmissionDecision
{
    private static readonly IReadOnlyDictionary<string, int> NoCounts = new Dictionary<string, int>();

    public bool Allowed { get; init; } = true;

    public AdmissionOutcome Outcome { get; init; }

    private IReadOnlyList<JsonPatchOperation>? _patch;

    /// <summary>
    /// The patch as operations. The engine produces <see cref="PatchJson"/> only (what the webhook sends); these are
    /// read back from it when first asked for (the CLI and tests apply them).
    /// </summary>
    public IReadOnlyList<JsonPatchOperation> Patch
    {
        get => _patch ??= PatchBuilder.Parse(PatchJson);
        init => _patch = value;
    }

    /// <summary>The patch serialised once as a JSON array (UTF-8); empty when there is no patch.</summary>
    public ReadOnlyMemory<byte> PatchJson { get; init; }

    /// <summary>Short human-readable notes returned to kubectl as admission warnings.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    public IReadOnlyList<DecisionReason> Reasons { get; init; } = [];

    /// <summary>Status message when denied.</summary>
    public string? Message { get; init; }

    /// <summary>Sidecars injected by this decision, by kind (<c>pod-agent</c>, <c>lightpeer</c>).</summary>
    public IReadOnlyDictionary<string, int> Injected { get; init; } = NoCounts;

    /// <summary>Rewrites made by this decision, by kind (<c>registry</c>, <c>pull-secret</c>, <c>volume</c>, <c>env</c>, <c>owner</c>, <c>stamp</c>).</summary>
    public IReadOnlyDictionary<string, int> Rewrites { get; init; } = NoCounts;
}
