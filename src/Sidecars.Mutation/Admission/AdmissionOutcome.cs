namespace Sidecars.Mutation;

/// <summary>What the engine did with a request (a metric label).</summary>
public enum AdmissionOutcome
{
    /// <summary>Allowed with a non-empty patch.</summary>
    Mutated,

    /// <summary>In scope, but nothing to change (already injected, UPDATE, ...).</summary>
    Unchanged,

    /// <summary>Out of scope: excluded namespace, opted out, not opted in, unsupported kind.</summary>
    Skipped,

    /// <summary>Refused: the object asks for something that cannot be given safely.</summary>
    Denied,
}
