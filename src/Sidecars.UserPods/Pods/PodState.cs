using k8s.Models;
using Sidecars.Conventions;
using Sidecars.Kubernetes;

namespace Sidecars.UserPods.Pods;

/// <summary>Reads what the user-pods API needs from a pod. Pure.</summary>
internal static class PodState
{
    public static bool IsReady(V1Pod pod) =>
        pod.Metadata.DeletionTimestamp is null && KubernetesConditions.IsPodReady(pod);

    public static bool IsTerminal(V1Pod pod) => pod.Status?.Phase is "Succeeded" or "Failed";

    /// <summary>Ready, Pending, Running (not Ready), Succeeded, Failed, Terminating or Unknown.</summary>
    public static string Status(V1Pod pod) =>
        pod.Metadata.DeletionTimestamp is not null ? "Terminating"
        : IsReady(pod) ? "Ready"
        : pod.Status?.Phase ?? "Unknown";

    public static string? UserOf(V1Pod pod) =>
        pod.Metadata.Annotations?.TryGetValue(SidecarsAnnotations.User, out var user) == true ? user : null;

    public static bool BelongsTo(V1Pod pod, string userId) => string.Equals(UserOf(pod), userId, StringComparison.Ordinal);

    public static bool HasIngress(V1Pod pod) =>
        pod.Metadata.Annotations?.TryGetValue(UserPodKeys.Ingress, out var value) == true && value == "true";

    /// <summary>Created, but its Service or Ingress not yet (or never, if its creator died): see <see cref="UserPodKeys.Creating"/>.</summary>
    public static bool IsCreating(V1Pod pod) => pod.Metadata.Annotations?.ContainsKey(UserPodKeys.Creating) == true;

    public static bool WasReady(V1Pod pod) => pod.Metadata.Annotations?.ContainsKey(UserPodKeys.ReadyAt) == true;

    /// <summary>When a pod that never became Ready is deleted: its creation time plus the create timeout.</summary>
    public static DateTimeOffset CreateDeadline(V1Pod pod, TimeSpan createTimeout) =>
        new DateTimeOffset(DateTime.SpecifyKind(pod.Metadata.CreationTimestamp ?? DateTime.UtcNow, DateTimeKind.Utc)) + createTimeout;

    /// <summary>Keys listed in the copy-token annotation (separated by commas or spaces).</summary>
    public static IReadOnlyList<string> TokenKeys(V1Pod pod) =>
        pod.Metadata.Annotations?.TryGetValue(SidecarsAnnotations.CopyToken, out var value) == true
            ? value.Split([',', ' ', ';', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList()
            : [];
}
