namespace Sidecars.Mutation;

/// <summary>The workload kinds whose pod template carries the creating user's stamp, and where that template is.</summary>
public static class WorkloadKinds
{
    private static readonly string[] SpecTemplate = ["spec", "template"];
    private static readonly string[] CronJobTemplate = ["spec", "jobTemplate", "spec", "template"];

    /// <summary>Members leading from the object to its pod template, or null when the kind is not a workload.</summary>
    public static IReadOnlyList<string>? TemplatePath(GroupVersionKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return (kind.Group, kind.Version, kind.Kind) switch
        {
            ("apps", "v1", "Deployment" or "ReplicaSet" or "StatefulSet" or "DaemonSet") => SpecTemplate,
            ("batch", "v1", "Job") => SpecTemplate,
            ("", "v1", "ReplicationController") => SpecTemplate,
            ("batch", "v1" or "v1beta1", "CronJob") => CronJobTemplate,
            _ => null,
        };
    }

    public static bool IsPod(GroupVersionKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return kind.Group.Length == 0 && kind.Version == "v1" && kind.Kind == "Pod";
    }
}
