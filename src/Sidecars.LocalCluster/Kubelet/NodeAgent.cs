using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Sidecars.LocalCluster;

/// <summary>Registers the Node and keeps its Ready condition and its Lease in kube-node-lease fresh.</summary>
internal sealed partial class NodeAgent
{
    private const string LeaseNamespace = "kube-node-lease";
    private const int LeaseDurationSeconds = 40;

    private readonly IKubernetes _client;
    private readonly string _nodeName;
    private readonly ILogger _logger;
    private readonly Action _recovered;
    private DateTime _readySince;
    private long _recoveredAtTicks;

    /// <param name="recovered">Called after a heartbeat found the node declared not Ready (its heartbeats had lapsed).</param>
    public NodeAgent(IKubernetes client, string nodeName, ILogger logger, Action recovered)
    {
        _client = client;
        _nodeName = nodeName;
        _logger = logger;
        _recovered = recovered;
    }

    /// <summary>Whether a heartbeat found the node declared not Ready within the last <paramref name="window"/>.</summary>
    public bool RecoveredWithin(TimeSpan window) =>
        Interlocked.Read(ref _recoveredAtTicks) is var ticks and > 0 && DateTime.UtcNow.Ticks - ticks < window.Ticks;

    public async Task RegisterAsync(CancellationToken ct)
    {
        _readySince = DateTime.UtcNow;
        var node = new V1Node
        {
            Metadata = new V1ObjectMeta
            {
                Name = _nodeName,
                Labels = new Dictionary<string, string>
                {
                    ["kubernetes.io/hostname"] = _nodeName,
                    ["kubernetes.io/os"] = "linux",
                    ["kubernetes.io/arch"] = "amd64",
                    ["beta.kubernetes.io/os"] = "linux",
                    ["beta.kubernetes.io/arch"] = "amd64",
                    ["node-role.kubernetes.io/sim"] = string.Empty,
                },
            },
            Spec = new V1NodeSpec(),
        };
        try
        {
            await _client.CoreV1.CreateNodeAsync(node, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Left over from an earlier kubelet on this control plane; take it over.
        }

        await PatchNodeStatusAsync(full: true, resourceVersion: null, ct);
        await RenewLeaseAsync(ct);
        Log.Registered(_logger, _nodeName);
    }

    public async Task RunAsync(TimeSpan interval, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(ct))
        {
            // One heartbeat may take at most one interval: a call stuck on a loaded apiserver is given up and the next
            // tick tries again, instead of holding every later heartbeat until the node is declared NotReady.
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
            attempt.CancelAfter(interval);
            try
            {
                var stored = await HeartbeatAsync(attempt.Token);
                await RenewLeaseAsync(attempt.Token);
                if (stored.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status is { } ready && ready != "True")
                {
                    // kube-controller-manager declared the node NotReady and marked its pods not Ready.
                    Interlocked.Exchange(ref _recoveredAtTicks, DateTime.UtcNow.Ticks);
                    Log.Recovered(_logger, _nodeName, ready);
                    _recovered();
                }
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException
                || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                Log.HeartbeatFailed(_logger, _nodeName, e.Message);
            }
        }
    }

    /// <summary>
    /// Reads the node's status and writes a fresh one on top of exactly that version, so that a status written in
    /// between (the node declared not Ready) is never overwritten unseen; returns the version that was replaced.
    /// </summary>
    private async Task<V1Node> HeartbeatAsync(CancellationToken ct)
    {
        while (true)
        {
            var stored = await _client.CoreV1.ReadNodeStatusAsync(_nodeName, cancellationToken: ct);
            try
            {
                await PatchNodeStatusAsync(full: false, stored.Metadata.ResourceVersion, ct);
                return stored;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // Written in between: read it again.
            }
        }
    }

    private async Task PatchNodeStatusAsync(bool full, string? resourceVersion, CancellationToken ct)
    {
        var now = DateTime.UtcNow;
        V1NodeCondition Condition(string type, string status, string reason, string message) => new()
        {
            Type = type,
            Status = status,
            Reason = reason,
            Message = message,
            LastHeartbeatTime = now,
            LastTransitionTime = _readySince,
        };

        var status = new V1NodeStatus
        {
            Conditions =
            [
                Condition("Ready", "True", "KubeletReady", "simulated kubelet is posting ready status"),
                Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "simulated"),
                Condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "simulated"),
                Condition("PIDPressure", "False", "KubeletHasSufficientPID", "simulated"),
            ],
        };
        if (full)
        {
            var resources = new Dictionary<string, ResourceQuantity>
            {
                ["cpu"] = new("64"),
                ["memory"] = new("256Gi"),
                ["pods"] = new("1000"),
                ["ephemeral-storage"] = new("1Ti"),
            };
            status.Capacity = resources;
            status.Allocatable = resources;
            status.Addresses =
            [
                new V1NodeAddress { Type = "InternalIP", Address = "127.0.0.1" },
                new V1NodeAddress { Type = "Hostname", Address = _nodeName },
            ];
            status.NodeInfo = new V1NodeSystemInfo
            {
                Architecture = "amd64",
                OperatingSystem = "linux",
                OsImage = "simulated",
                KernelVersion = Environment.OSVersion.Version.ToString(),
                ContainerRuntimeVersion = "sim://1.0",
                KubeletVersion = "v1.20.2",
                KubeProxyVersion = "v1.20.2",
                MachineID = _nodeName,
                SystemUUID = _nodeName,
                BootID = _nodeName,
            };
            status.DaemonEndpoints = new V1NodeDaemonEndpoints { KubeletEndpoint = new V1DaemonEndpoint { Port = 10250 } };
        }

        // A resourceVersion in a patch is a precondition: the apiserver answers 409 when the stored version differs.
        var node = new V1Node { Metadata = resourceVersion is null ? null : new V1ObjectMeta { ResourceVersion = resourceVersion }, Status = status };
        var patch = new V1Patch(KubernetesJson.Serialize(node), V1Patch.PatchType.StrategicMergePatch);
        await _client.CoreV1.PatchNodeStatusAsync(patch, _nodeName, cancellationToken: ct);
    }

    private async Task RenewLeaseAsync(CancellationToken ct)
    {
        var now = DateTime.UtcNow;
        try
        {
            var patch = new V1Patch(
                KubernetesJson.Serialize(new V1Lease { Spec = new V1LeaseSpec { RenewTime = now, HolderIdentity = _nodeName } }),
                V1Patch.PatchType.MergePatch);
            await _client.CoordinationV1.PatchNamespacedLeaseAsync(patch, _nodeName, LeaseNamespace, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            var lease = new V1Lease
            {
                Metadata = new V1ObjectMeta { Name = _nodeName, NamespaceProperty = LeaseNamespace },
                Spec = new V1LeaseSpec
                {
                    HolderIdentity = _nodeName,
                    LeaseDurationSeconds = LeaseDurationSeconds,
                    RenewTime = now,
                },
            };
            await _client.CoordinationV1.CreateNamespacedLeaseAsync(lease, LeaseNamespace, cancellationToken: ct);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Registered node {NodeName}")]
        public static partial void Registered(ILogger logger, string nodeName);

        [LoggerMessage(2, LogLevel.Warning, "Heartbeat of node {NodeName} failed: {Reason}")]
        public static partial void HeartbeatFailed(ILogger logger, string nodeName, string reason);

        [LoggerMessage(3, LogLevel.Warning, "Node {NodeName} was declared Ready={Ready} (heartbeats lapsed); its pods report their status again")]
        public static partial void Recovered(ILogger logger, string nodeName, string ready);
    }
}
