namespace Sidecars.Mutation;

/// <summary>
/// Why one feature was or was not applied. <paramref name="Code"/> is a low-cardinality metric label
/// (e.g. <c>injected</c>, <c>already-injected</c>, <c>not-opted-in</c>); <paramref name="Message"/> is for people.
/// </summary>
public sealed record DecisionReason(string Feature, bool Applied, string Code, string Message);
