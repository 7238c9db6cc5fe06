using k8s.Models;

namespace Sidecars.Networks.Tests;

public sealed class LightpeerPodTests
{
    /// <param name="peer">State of the lightpeer container: running, unstarted (running, startup probe pending), waiting, or none reported.</param>
    /// <param name="peerName">The lightpeer container's name: the injected one, or a pod's own.</param>
    private static V1Pod Pod(
        string? network = "net-a", string? ip = "127.1.0.5", bool ready = true, string phase = "Running", bool deleting = false, int? port = null,
        string portName = "klight-port", string? peer = null, string peerName = "sidecars-lightpeer", bool native = false) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = "p",
            NamespaceProperty = "ns",
            Uid = "u1",
            Labels = network is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["klight.networkId"] = network },
            DeletionTimestamp = deleting ? DateTime.UtcNow : null,
        },
        Spec = new V1PodSpec
        {
            Containers =
            [
                new V1Container { Name = "app", Ports = [new V1ContainerPort { ContainerPort = 8080, Name = "http" }] },
                .. native ? Array.Empty<V1Container>() : [Lightpeer(peerName, port, portName)],
            ],
            InitContainers = native ? [Lightpeer(peerName, port, portName)] : null,
        },
        Status = new V1PodStatus
        {
            Phase = phase,
            PodIP = ip,
            Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }],
            ContainerStatuses = peer is null || native ? null : PeerStatus(peer, peerName),
            InitContainerStatuses = peer is not null && native ? PeerStatus(peer, peerName) : null,
        },
    };

    private static V1Container Lightpeer(string name, int? port, string portName) =>
        new() { Name = name, Ports = port is null ? null : [new V1ContainerPort { ContainerPort = port.Value, Name = portName }] };

    private static List<V1ContainerStatus> PeerStatus(string peer, string peerName) =>
            [
                new V1ContainerStatus
                {
                    Name = peerName,
                    Started = peer == "running",
                    State = peer == "waiting"
                        ? new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "ContainerCreating" } }
                        : new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = DateTime.UtcNow } },
                },
            ];

    public static TheoryData<string, V1Pod, bool, bool, bool, string?> Table() => new()
    {
        { "ready running pod", Pod(), true, true, false, "127.1.0.5:9081" },
        { "named port wins", Pod(port: 7100), true, true, false, "127.1.0.5:7100" },
        { "named port, older spelling", Pod(port: 7200, portName: "klightPort"), true, true, false, "127.1.0.5:7200" },
        { "not ready", Pod(ready: false), false, false, false, "127.1.0.5:9081" },
        { "no IP yet", Pod(ip: null), false, true, false, null },
        { "failed", Pod(phase: "Failed"), false, true, true, "127.1.0.5:9081" },
        { "succeeded", Pod(phase: "Succeeded"), false, true, true, "127.1.0.5:9081" },
        { "terminating", Pod(deleting: true), false, true, true, "127.1.0.5:9081" },

        // The injected lightpeer is Ready only once a member: it is joined as soon as it runs.
        { "not ready, injected lightpeer running", Pod(ready: false, peer: "running"), true, false, false, "127.1.0.5:9081" },
        { "not ready, injected lightpeer not started", Pod(ready: false, peer: "unstarted"), false, false, false, "127.1.0.5:9081" },
        { "not ready, injected lightpeer waiting", Pod(ready: false, peer: "waiting"), false, false, false, "127.1.0.5:9081" },
        { "not ready, own lightpeer running", Pod(ready: false, peer: "running", peerName: "lightpeer"), false, false, false, "127.1.0.5:9081" },
        { "not ready, injected lightpeer a running native sidecar", Pod(ready: false, peer: "running", native: true, port: 7300), true, false, false, "127.1.0.5:7300" },
        { "injected lightpeer running, no IP yet", Pod(ready: false, ip: null, peer: "running"), false, false, false, null },
        { "injected lightpeer running, terminating", Pod(ready: false, deleting: true, peer: "running"), false, false, true, "127.1.0.5:9081" },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void View_matches_table(string description, V1Pod pod, bool joinable, bool ready, bool gone, string? address)
    {
        var view = LightpeerPod.From(pod);
        Assert.NotNull(view);
        Assert.True((joinable, ready, gone, address) == (view.Joinable, view.Ready, view.Gone, view.Address), $"{description}: {view}");
        Assert.Equal("net-a", view.Network);
        Assert.Equal("ns/p", view.Key);
    }

    [Fact]
    public void Deleted_event_marks_gone_and_unlabelled_pods_are_ignored()
    {
        Assert.True(LightpeerPod.From(Pod(), deleted: true)!.Gone);
        Assert.Null(LightpeerPod.From(Pod(network: null)));
        Assert.Null(LightpeerPod.From(Pod(network: "")));
    }

    [Fact]
    public void A_pod_that_mounts_the_identity_Secret_is_spoken_to_over_TLS()
    {
        var plain = Pod();
        var secure = Pod();
        secure.Spec.Volumes =
        [
            new V1Volume { Name = "data", EmptyDir = new V1EmptyDirVolumeSource() },
            new V1Volume { Name = "identity", Secret = new V1SecretVolumeSource { SecretName = Conventions.SidecarsNames.LightpeerIdentitySecret, Optional = true } },
        ];
        var other = Pod();
        other.Spec.Volumes = [new V1Volume { Name = "s", Secret = new V1SecretVolumeSource { SecretName = "another" } }];

        Assert.False(LightpeerPod.From(plain)!.Tls);
        Assert.True(LightpeerPod.From(secure)!.Tls);
        Assert.False(LightpeerPod.From(other)!.Tls);
    }
}
