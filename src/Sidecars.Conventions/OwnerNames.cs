namespace Sidecars.Conventions;

/// <summary>
/// The owner function: a user name (a Kubernetes user, or a user-pods API user_id) to the owner label value
/// (<see cref="SidecarsLabels.Owner"/>, <see cref="SidecarsLabels.User"/>) and the name fragment of the user's storage
/// claim. The webhook and the user-pods API both use it, so one person has one label value and one claim whichever
/// way their pod was made, and two people never share either.
/// </summary>
/// <remarks>
/// A name that is already valid stays as it is (<c>alice</c>, and <c>Alice.Smith</c> as a label value); any other
/// name keeps its readable form followed by <c>-</c> and 13 characters of a hash of the whole name
/// (<c>system:serviceaccount:ns:sa</c> becomes <c>system_serviceaccount_ns_sa-…</c>), cut to 63 characters. See
/// <see cref="KubernetesNames.ToLabelValue"/>.
/// </remarks>
public static class OwnerNames
{
    /// <summary>The label value of a pod whose owner is not known; no user name maps to it.</summary>
    public const string Unknown = "unknown";

    /// <summary>The owner label value of <paramref name="owner"/>.</summary>
    public static string ToLabelValue(string owner) => KubernetesNames.ToLabelValue(owner, reserved: IsReserved);

    /// <summary>The DNS label that stands for <paramref name="owner"/> in the storage claim name.</summary>
    public static string ToDnsLabel(string owner) => KubernetesNames.ToDnsLabel(owner, reserved: IsReserved);

    /// <summary>The claim name: <paramref name="placeholder"/> in <paramref name="template"/> replaced by <see cref="ToDnsLabel"/>.</summary>
    public static string ClaimName(string template, string placeholder, string owner)
    {
        ArgumentNullException.ThrowIfNull(template);
        return template.Replace(placeholder, ToDnsLabel(owner), StringComparison.Ordinal);
    }

    private static bool IsReserved(string value) => value == Unknown;
}
