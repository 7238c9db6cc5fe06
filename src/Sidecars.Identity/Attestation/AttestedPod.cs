namespace Sidecars.Identity.Attestation;

/// <summary>The pod a reviewed pod token is bound to, as the apiserver shows it now.</summary>
/// <param name="Blessing">The pod's <c>sidecars.io/blessing</c> annotation (its application extension), if any.</param>
public sealed record AttestedPod(string Namespace, string Name, string Uid, string? Blessing);
