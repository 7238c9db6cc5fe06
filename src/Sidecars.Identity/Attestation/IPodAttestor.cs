namespace Sidecars.Identity.Attestation;

/// <summary>Finds out which pod presented a pod token.</summary>
public interface IPodAttestor
{
    /// <summary>
    /// The pod <paramref name="token"/> is bound to. Throws <see cref="Service.IdentityException"/> with
    /// <see cref="Service.IdentityError.Unauthenticated"/> when the cluster does not accept the token for the cluster
    /// agent's audience, it is not bound to a pod, or that pod no longer exists.
    /// </summary>
    Task<AttestedPod> AttestAsync(string token, CancellationToken cancellationToken);
}
