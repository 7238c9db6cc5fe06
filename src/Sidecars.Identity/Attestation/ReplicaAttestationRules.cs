namespace Sidecars.Identity.Attestation;

/// <summary>Whether an attested pod may receive the blessing of a replica of an application.</summary>
public static class ReplicaAttestationRules
{
    /// <summary>Null when <paramref name="pod"/> may hold <paramref name="replica"/> of <paramref name="extension"/>, else the reason.</summary>
    public static string? Refusal(AttestedPod pod, string replica, string extension)
    {
        if (!string.Equals(pod.Name, replica, StringComparison.Ordinal))
        {
            return $"the caller is pod {pod.Namespace}/{pod.Name}: it may seek only its own replica blessing '{pod.Name}', not '{replica}'";
        }

        if (!string.Equals(pod.Blessing, extension, StringComparison.Ordinal))
        {
            return pod.Blessing is null
                ? $"pod {pod.Namespace}/{pod.Name} has no {Conventions.SidecarsAnnotations.Blessing} annotation; the secret blesses '{extension}'"
                : $"pod {pod.Namespace}/{pod.Name} is annotated {Conventions.SidecarsAnnotations.Blessing}={pod.Blessing}; the secret blesses '{extension}'";
        }

        return null;
    }
}
