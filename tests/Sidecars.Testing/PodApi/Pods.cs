using System.Text.Json.Nodes;

namespace Sidecars.Testing.PodApi;

/// <summary>Pod JSON as the apiserver returns it, reduced to what matters here.</summary>
public static class Pods
{
    /// <summary>A pod with the injected pod-agent and app containers in the given states (null = running).</summary>
    public static string Job(string resourceVersion, string restartPolicy = "Never", params (string Name, int? ExitCode)[] apps)
    {
        var containers = new JsonArray(new JsonObject { ["name"] = "sidecars-pod-agent", ["image"] = "sidecars/agent:1" });
        var statuses = new JsonArray(Status("sidecars-pod-agent", null));
        foreach (var (name, exit) in apps)
        {
            containers.Add(new JsonObject { ["name"] = name, ["image"] = "busybox" });
            statuses.Add(Status(name, exit));
        }

        return new JsonObject
        {
            ["kind"] = "Pod",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject { ["name"] = "job-abc", ["namespace"] = "team", ["resourceVersion"] = resourceVersion },
            ["spec"] = new JsonObject { ["restartPolicy"] = restartPolicy, ["containers"] = containers },
            ["status"] = new JsonObject { ["phase"] = "Running", ["containerStatuses"] = statuses },
        }.ToJsonString();
    }

    private static JsonObject Status(string name, int? exitCode) => new()
    {
        ["name"] = name,
        ["ready"] = exitCode is null,
        ["state"] = exitCode is { } code
            ? new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = code, ["reason"] = code == 0 ? "Completed" : "Error" } }
            : new JsonObject { ["running"] = new JsonObject { ["startedAt"] = "2024-01-01T00:00:00Z" } },
    };
}
