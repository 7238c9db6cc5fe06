using System.Net.Sockets;
using System.Text;
using k8s;
using k8s.Models;
using Sidecars.Testing;
using Xunit;

namespace Sidecars.LocalCluster.Tests;

[Collection(ControlPlaneCollection.Name)]
[Trait("Category", "ControlPlane")]
public sealed class ProcessContainerTests
{
    private const string HttpImage = "example.test/python-http:1";
    private const string EnvDumpImage = "registry.example.test:5000/tools/env-dump:2";
    private const string CrashImage = "example.test/crash:1";
    private const string MarkerImage = "example.test/marker:1";

    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };

    private readonly ControlPlaneFixture _fixture;

    public ProcessContainerTests(ControlPlaneFixture fixture)
    {
        _fixture = fixture;
        Register(fixture.ControlPlane.Kubelet);
    }

    private k8s.Kubernetes Client => _fixture.Client;

    private static bool _registered;
    private static readonly Lock Gate = new();

    private static void Register(SimulatedKubelet kubelet)
    {
        lock (Gate)
        {
            if (_registered)
            {
                return;
            }

            _registered = true;
            kubelet.AddRunner(new DelegateRunner(HttpImage, launch =>
                DelegateRunner.Command("python3", ["-m", "http.server", "8080", "--bind", launch.PodIp, .. launch.Args])));
            kubelet.AddRunner(new DelegateRunner(EnvDumpImage, launch =>
                DelegateRunner.Command("/bin/sh", "-c", "env > \"$1.tmp\" && mv \"$1.tmp\" \"$1\" && exec sleep 600", "sh", launch.Args[0])));
            kubelet.AddRunner(new DelegateRunner(CrashImage, _ => DelegateRunner.Command("/bin/sh", "-c", "echo crashing; exit 3")));
            kubelet.AddRunner(new DelegateRunner(MarkerImage, launch =>
                DelegateRunner.Command("/bin/sh", "-c", "test ! -e \"$1\" && echo \"$2\" > \"$1\"", "sh", launch.Args[0], launch.Args[1])));
        }
    }

    [Fact]
    public async Task Process_container_makes_the_pod_ready_only_once_its_readiness_probe_passes_and_dies_with_the_pod()
    {
        var ns = await _fixture.NewNamespaceAsync("probe");
        var pod = Manifests.Pod("web", new V1Container
        {
            Name = "web",
            Image = HttpImage,
            Args = ["--directory", "/srv/site"],
            Ports = [new V1ContainerPort { Name = "http", ContainerPort = 8080 }],
            VolumeMounts = [new V1VolumeMount { Name = "site", MountPath = "/srv/site" }],
            ReadinessProbe = new V1Probe
            {
                HttpGet = new V1HTTPGetAction { Path = "/ready", Port = "http" },
                PeriodSeconds = 1,
                FailureThreshold = 1,
            },
        });
        pod.Spec.Volumes = [new V1Volume { Name = "site", EmptyDir = new V1EmptyDirVolumeSource() }];
        await Client.CoreV1.CreateNamespacedPodAsync(pod, ns);

        var running = (await Client.WaitForPodAsync(ns, "web",
            p => p?.Status?.Phase == "Running" && p.Status.ContainerStatuses?.Single().State.Running is not null,
            "pod web to run its process"))!;
        var ip = running.Status.PodIP;
        await Eventually.UntilAsync(() => ServesAsync($"http://{ip}:8080/"), $"the process to serve on {ip}:8080");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await Http.GetAsync(new Uri($"http://{ip}:8080/ready"))).StatusCode);
        var notReady = await Client.CoreV1.ReadNamespacedPodAsync("web", ns);
        Assert.False(notReady.IsReady());
        Assert.False(notReady.Status.ContainerStatuses.Single().Ready);

        var directory = _fixture.ControlPlane.Kubelet.PodDirectory(running);
        await File.WriteAllTextAsync(Path.Combine(directory, "volumes", "site", "ready"), "ok");

        var ready = (await Client.WaitForPodAsync(ns, "web", p => p?.IsReady() == true, "pod web to become Ready"))!;
        Assert.True(ready.Status.ContainerStatuses.Single().Ready);
        Assert.Contains("GET /ready", await File.ReadAllTextAsync(Path.Combine(directory, "web.log")), StringComparison.Ordinal);

        await Client.CoreV1.DeleteNamespacedPodAsync("web", ns);
        await Client.WaitForPodAsync(ns, "web", p => p is null, "pod web to disappear");
        using var socket = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => socket.ConnectAsync(ip, 8080));
    }

    [Fact]
    public async Task Volumes_and_environment_are_materialised_for_a_process()
    {
        var ns = await _fixture.NewNamespaceAsync("volumes");
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "creds" },
            Data = new Dictionary<string, byte[]> { ["secret"] = Encoding.UTF8.GetBytes("s3cr3t"), ["other"] = Encoding.UTF8.GetBytes("x") },
        }, ns);
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "settings" },
            Data = new Dictionary<string, string> { ["mode"] = "fast" },
        }, ns);
        var pod = Manifests.Pod("dump", new V1Container
        {
            Name = "dump",
            Image = EnvDumpImage,
            Args = ["/out/env.txt"],
            Env =
            [
                new V1EnvVar { Name = "POD_IP", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } } },
                new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                new V1EnvVar { Name = "POD_NAMESPACE", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.namespace" } } },
                new V1EnvVar { Name = "TOKEN", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "creds", Key = "secret" } } },
                new V1EnvVar { Name = "MODE", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = "settings", Key = "mode" } } },
                new V1EnvVar { Name = "SOCKET", Value = "/out/agent.sock" },
                new V1EnvVar { Name = "URL", Value = "http://$(POD_IP):9090" },
            ],
            VolumeMounts =
            [
                new V1VolumeMount { Name = "out", MountPath = "/out" },
                new V1VolumeMount { Name = "creds", MountPath = "/var/run/creds", ReadOnlyProperty = true },
                new V1VolumeMount { Name = "mapped", MountPath = "/etc/mapped" },
                new V1VolumeMount { Name = "settings", MountPath = "/etc/settings" },
            ],
        });
        pod.Spec.Volumes =
        [
            new V1Volume { Name = "out", EmptyDir = new V1EmptyDirVolumeSource() },
            new V1Volume { Name = "creds", Secret = new V1SecretVolumeSource { SecretName = "creds" } },
            new V1Volume { Name = "mapped", Secret = new V1SecretVolumeSource { SecretName = "creds", Items = [new V1KeyToPath { Key = "secret", Path = "nested/key.txt" }] } },
            new V1Volume { Name = "settings", ConfigMap = new V1ConfigMapVolumeSource { Name = "settings" } },
        ];
        await Client.CoreV1.CreateNamespacedPodAsync(pod, ns);

        var running = (await Client.WaitForPodAsync(ns, "dump", p => p?.IsReady() == true, "pod dump to be Ready"))!;
        var volumes = Path.Combine(_fixture.ControlPlane.Kubelet.PodDirectory(running), "volumes");
        var envFile = Path.Combine(volumes, "out", "env.txt");
        await Eventually.UntilAsync(() => File.Exists(envFile), "the process to write its environment");

        Assert.Equal("s3cr3t", await File.ReadAllTextAsync(Path.Combine(volumes, "creds", "secret")));
        Assert.Equal("x", await File.ReadAllTextAsync(Path.Combine(volumes, "creds", "other")));
        Assert.Equal("s3cr3t", await File.ReadAllTextAsync(Path.Combine(volumes, "mapped", "nested", "key.txt")));
        Assert.False(File.Exists(Path.Combine(volumes, "mapped", "other")));
        Assert.Equal("fast", await File.ReadAllTextAsync(Path.Combine(volumes, "settings", "mode")));
        var env = (await File.ReadAllLinesAsync(envFile)).Where(l => l.Contains('=', StringComparison.Ordinal))
            .Select(l => l.Split('=', 2)).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1]);
        var ip = running.Status.PodIP;
        Assert.Equal(ip, env["POD_IP"]);
        Assert.Equal("dump", env["POD_NAME"]);
        Assert.Equal(ns, env["POD_NAMESPACE"]);
        Assert.Equal("s3cr3t", env["TOKEN"]);
        Assert.Equal("fast", env["MODE"]);
        Assert.Equal(Path.Combine(volumes, "out", "agent.sock"), env["SOCKET"]);
        Assert.Equal($"http://{ip}:9090", env["URL"]);
    }

    [Fact]
    public async Task ConfigMap_volume_follows_its_object_through_an_atomic_data_switch_while_the_pod_runs()
    {
        var ns = await _fixture.NewNamespaceAsync("cmsync");
        var pod = Manifests.Pod("holder", new V1Container
        {
            Name = "holder",
            Image = EnvDumpImage,
            Args = ["/out/env.txt"],
            VolumeMounts =
            [
                new V1VolumeMount { Name = "out", MountPath = "/out" },
                new V1VolumeMount { Name = "bundle", MountPath = "/etc/bundle", ReadOnlyProperty = true },
            ],
        });
        pod.Spec.Volumes =
        [
            new V1Volume { Name = "out", EmptyDir = new V1EmptyDirVolumeSource() },
            new V1Volume { Name = "bundle", ConfigMap = new V1ConfigMapVolumeSource { Name = "bundle", Optional = true } },
        ];
        await Client.CoreV1.CreateNamespacedPodAsync(pod, ns);

        // Optional and absent: the pod starts with an empty volume.
        var running = (await Client.WaitForPodAsync(ns, "holder", p => p?.IsReady() == true, "pod holder to be Ready"))!;
        var volume = Path.Combine(_fixture.ControlPlane.Kubelet.PodDirectory(running), "volumes", "bundle");
        var file = Path.Combine(volume, "ca.crt");
        Assert.False(File.Exists(file));

        await Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "bundle" }, Data = new Dictionary<string, string> { ["ca.crt"] = "first" } }, ns);
        await Eventually.UntilAsync(() => File.Exists(file) && File.ReadAllText(file) == "first", "the created ConfigMap to appear in the running pod's volume");
        var firstPayload = new DirectoryInfo(Path.Combine(volume, "..data")).LinkTarget;
        Assert.Equal(Path.Combine("..data", "ca.crt"), new FileInfo(file).LinkTarget);

        await Client.CoreV1.ReplaceNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "bundle" }, Data = new Dictionary<string, string> { ["ca.crt"] = "second", ["extra"] = "x" } }, "bundle", ns);
        await Eventually.UntilAsync(() => File.ReadAllText(file) == "second", "the update to reach the volume");
        var secondPayload = new DirectoryInfo(Path.Combine(volume, "..data")).LinkTarget;
        Assert.NotEqual(firstPayload, secondPayload);
        // The switch is what makes "second" readable; the previous payload goes right after it.
        await Eventually.UntilAsync(() => !Directory.Exists(Path.Combine(volume, firstPayload!)), "the previous payload directory to be removed after the switch");
        Assert.Equal("x", await File.ReadAllTextAsync(Path.Combine(volume, "extra")));

        await Client.CoreV1.DeleteNamespacedConfigMapAsync("bundle", ns);
        await Eventually.UntilAsync(() => !File.Exists(file) && !File.Exists(Path.Combine(volume, "extra")), "the deleted optional ConfigMap to empty the volume");
    }

    [Fact]
    public async Task Exited_process_is_restarted_with_its_last_state_recorded()
    {
        var ns = await _fixture.NewNamespaceAsync("restart");
        await Client.CoreV1.CreateNamespacedPodAsync(Manifests.Pod("crash", new V1Container { Name = "crash", Image = CrashImage }), ns);

        var pod = (await Client.WaitForPodAsync(ns, "crash",
            p => p?.Status?.ContainerStatuses?.Single().RestartCount >= 2, "container crash to be restarted twice"))!;

        var status = pod.Status.ContainerStatuses.Single();
        Assert.Equal(3, status.LastState.Terminated.ExitCode);
        Assert.Equal("Error", status.LastState.Terminated.Reason);
        Assert.Contains("crashing", await File.ReadAllTextAsync(_fixture.ControlPlane.Kubelet.ContainerLogPath(pod, "crash")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failing_liveness_probe_restarts_the_process()
    {
        var ns = await _fixture.NewNamespaceAsync("liveness");
        var pod = Manifests.Pod("sick", new V1Container
        {
            Name = "web",
            Image = HttpImage,
            Args = ["--directory", "/srv/site"],
            VolumeMounts = [new V1VolumeMount { Name = "site", MountPath = "/srv/site" }],
            LivenessProbe = new V1Probe
            {
                HttpGet = new V1HTTPGetAction { Path = "/alive", Port = 8080 },
                InitialDelaySeconds = 1,
                PeriodSeconds = 1,
                FailureThreshold = 2,
            },
        });
        pod.Spec.Volumes = [new V1Volume { Name = "site", EmptyDir = new V1EmptyDirVolumeSource() }];
        await Client.CoreV1.CreateNamespacedPodAsync(pod, ns);

        var restarted = (await Client.WaitForPodAsync(ns, "sick",
            p => p?.Status?.ContainerStatuses?.Single().RestartCount >= 1, "container web to be restarted by its liveness probe"))!;

        // Killed by the kubelet (SIGKILL), not exited on its own.
        Assert.Equal(137, restarted.Status.ContainerStatuses.Single().LastState.Terminated.ExitCode);
    }

    [Fact]
    public async Task Init_containers_complete_in_order_before_the_app_starts_and_a_job_of_processes_completes()
    {
        var ns = await _fixture.NewNamespaceAsync("init");
        var job = new V1Job
        {
            Metadata = new V1ObjectMeta { Name = "steps" },
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                Template = new V1PodTemplateSpec
                {
                    Spec = new V1PodSpec
                    {
                        RestartPolicy = "Never",
                        InitContainers =
                        [
                            new V1Container { Name = "first", Image = MarkerImage, Args = ["/work/1", "first"], VolumeMounts = [new V1VolumeMount { Name = "work", MountPath = "/work" }] },
                            new V1Container { Name = "virtual", Image = "example.test/virtual-init:1" },
                            new V1Container { Name = "second", Image = MarkerImage, Args = ["/work/2", "second"], VolumeMounts = [new V1VolumeMount { Name = "work", MountPath = "/work" }] },
                        ],
                        Containers =
                        [
                            new V1Container { Name = "app", Image = MarkerImage, Args = ["/work/3", "app"], VolumeMounts = [new V1VolumeMount { Name = "work", MountPath = "/work" }] },
                        ],
                        Volumes = [new V1Volume { Name = "work", EmptyDir = new V1EmptyDirVolumeSource() }],
                    },
                },
            },
        };
        await Client.BatchV1.CreateNamespacedJobAsync(job, ns);

        await Client.WaitForJobAsync(ns, "steps", j => j.IsComplete(), "job steps to complete");

        var pod = Assert.Single((await Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "job-name=steps")).Items);
        Assert.Equal("Succeeded", pod.Status.Phase);
        Assert.All(pod.Status.InitContainerStatuses, s => Assert.Equal(0, s.State.Terminated.ExitCode));
        var work = Path.Combine(_fixture.ControlPlane.Kubelet.PodDirectory(pod), "volumes", "work");
        var written = new[] { "1", "2", "3" }.Select(f => File.GetLastWriteTimeUtc(Path.Combine(work, f))).ToArray();
        Assert.Equal(["first", "second", "app"], new[] { "1", "2", "3" }.Select(f => File.ReadAllText(Path.Combine(work, f)).Trim()));
        Assert.True(written[0] <= written[1] && written[1] <= written[2]);
    }

    private static async Task<bool> ServesAsync(string url)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri(url));
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
