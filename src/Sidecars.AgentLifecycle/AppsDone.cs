namespace Sidecars.AgentLifecycle;

/// <summary>Whether the app containers of a pod have finished for good (pure; the watcher's decision).</summary>
internal static class AppsDone
{
    /// <summary>
    /// True when every container of the pod except <paramref name="sidecars"/> has terminated and will not be
    /// restarted: under <c>restartPolicy: Never</c> any exit counts, under <c>OnFailure</c> only exit code 0; a pod
    /// that restarts its containers always (or has no app container) never finishes.
    /// </summary>
    public static bool Evaluate(PodModel pod, IReadOnlySet<string> sidecars, out string detail)
    {
        var policy = pod.Spec?.RestartPolicy ?? "Always";
        var apps = (pod.Spec?.Containers ?? []).Select(c => c.Name ?? "").Where(n => !sidecars.Contains(n)).ToList();
        if (policy == "Always")
        {
            detail = "the pod restarts its containers always";
            return false;
        }

        if (apps.Count == 0)
        {
            detail = "the pod has no app container";
            return false;
        }

        var statuses = (pod.Status?.ContainerStatuses ?? []).Where(s => s.Name is not null).ToDictionary(s => s.Name!, StringComparer.Ordinal);
        var running = apps.Where(name => !IsFinished(statuses.GetValueOrDefault(name), policy)).ToList();
        detail = running.Count == 0
            ? $"app containers finished: {string.Join(", ", apps)}"
            : $"waiting for {string.Join(", ", running)}";
        return running.Count == 0;
    }

    private static bool IsFinished(ContainerStatusModel? status, string policy) =>
        status?.State?.Terminated is { } terminated && (policy == "Never" || terminated.ExitCode == 0);
}
