using k8s.Models;

namespace Sidecars.Networks.Tests;

public sealed class LightpeerPodTests
{
    private static V1Pod Pod(string? network = "net-a", string? ip = "127.1.0.5", bool ready = true, string phase = "Running", bool deleting = false, int? port = null, string portName = "klight-port") => new()
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
                new V1Container { Name = "sidecars-lightpeer", Ports = port is null ? null : [new V1ContainerPort { ContainerPort = port.Value, Name = portName }] },
            ],
        },
        Status = new V1PodStatus
        {
            Phase = phase,
            PodIP = ip,
            Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }],
        },
    };

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
