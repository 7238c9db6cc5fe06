namespace Sidecars.RealNode.Tests;

/// <summary>
/// up.sh then down.sh leaves the machine as it found it: the lane's processes, network namespaces, links, mounts,
/// iptables rules and kernel settings (tests/realnode/footprint.sh) are the same before and after. Runs its own
/// cycle, with a pod, a memory volume and a Service in place when down.sh starts, and restores the lane if it ran.
/// </summary>
[Collection(Name)]
[Trait("Category", "ControlPlane")]
public sealed class LaneLifecycleTests
{
    private const string Name = "real node lifecycle";

    [RealNodeFact]
    public async Task Down_removes_everything_up_and_a_running_pod_made()
    {
        using var laneLock = await Lane.AcquireAsync(TimeSpan.FromMinutes(60));
        var wasUp = await Lane.StatusAsync() is not null;
        if (wasUp)
        {
            await Lane.DownAsync();
        }

        var before = await FootprintAsync();
        using (var cluster = new LaneCluster(await Lane.UpAsync()))
        {
            var ns = await cluster.NewNamespaceAsync("lifecycle");
            await cluster.KubectlAsync(["apply", "-n", ns, "-f", "-"], $$"""
                apiVersion: v1
                kind: Pod
                metadata: { name: held, labels: { app: held } }
                spec:
                  terminationGracePeriodSeconds: 2
                  containers:
                    - name: app
                      image: {{Lane.Registry}}/{{Lane.AppImage}}
                      command: ["sleep", "3600"]
                      volumeMounts: [{ name: scratch, mountPath: /scratch }]
                  volumes:
                    - { name: scratch, emptyDir: { medium: Memory } }
                ---
                apiVersion: v1
                kind: Service
                metadata: { name: held }
                spec:
                  selector: { app: held }
                  ports: [{ port: 80 }]
                """);
            await cluster.Client.WaitForPodAsync(ns, "held", p => p is not null && p.IsReady(), "pod held Ready", TimeSpan.FromMinutes(3));
            var during = await FootprintAsync();
            Assert.Contains(during, line => line.StartsWith("ip netns: cni-", StringComparison.Ordinal));
            Assert.Contains(during, line => line.StartsWith("iptables-save: -A KUBE-SERVICES", StringComparison.Ordinal) && line.Contains($"{ns}/held", StringComparison.Ordinal));
        }

        await Lane.DownAsync();
        var after = await FootprintAsync();
        if (wasUp)
        {
            await Lane.UpAsync();
        }

        var left = after.Except(before).Select(l => "+ " + l).Concat(before.Except(after).Select(l => "- " + l)).ToList();
        Assert.True(left.Count == 0, "after down.sh the machine differs from before up.sh:\n" + string.Join('\n', left));
    }

    private static async Task<IReadOnlyList<string>> FootprintAsync()
    {
        var result = await Commands.RunAsync("bash", [Path.Combine(Lane.Scripts, "footprint.sh")], TimeSpan.FromMinutes(1));
        Assert.True(result.Succeeded, $"footprint.sh exited with {result.ExitCode}: {result.Error}");
        return result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
