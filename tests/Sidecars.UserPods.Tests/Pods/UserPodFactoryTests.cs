using System.Text.Json;
using k8s.Models;
using Sidecars.Conventions;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Manifests;
using Sidecars.UserPods.Pods;

namespace Sidecars.UserPods.Tests;

public sealed class UserPodFactoryTests
{
    private const string Manifest = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: jupyter
          namespace: somewhere-else
          labels:
            sidecars.io/user: forged
          annotations:
            sidecars.io/user: forged@example.org
        spec:
          containers:
            - name: jupyter
              image: LOCALREGISTRY/jupyter:1.2
          volumes:
            - name: sciencedata
              emptyDir: {}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: jupyter
        spec:
          ports:
            - port: 80
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: jupyter
        spec:
          rules:
            - host: ignored.example.org
        """;

    private static readonly UserPodsOptions Options = new()
    {
        Namespace = "user-pods",
        IngressDomain = "pods.example.org",
        IngressTlsSecret = "wildcard-tls",
        RegistryUrl = "registry.example.org:5000",
        RegistryPullSecret = "regcred",
    };

    [Fact]
    public void The_pod_carries_the_user_settings_and_rewrites()
    {
        var settings = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["jupyter"] = new Dictionary<string, string> { ["A"] = "1" } };
        var pod = UserPodFactory.BuildPod(ManifestParser.Parse(Manifest), "Alice@Example.org", settings, Options, "abc");

        Assert.Null(pod.Metadata.Name);
        Assert.Equal("jupyter-alice-exam-z7keyt4lnfoo3-", pod.Metadata.GenerateName);
        Assert.True(pod.Metadata.GenerateName.Length <= 58);
        Assert.Equal("user-pods", pod.Metadata.NamespaceProperty);
        Assert.Equal("Alice@Example.org", pod.Metadata.Annotations[SidecarsAnnotations.User]);
        Assert.Equal("Alice_Example.org-z7keyt4lnfoo3", pod.Metadata.Labels[SidecarsLabels.User]);
        Assert.Equal(SidecarsLabels.ManagedByValue, pod.Metadata.Labels[SidecarsLabels.ManagedBy]);
        Assert.Equal("true", pod.Metadata.Annotations["sidecars.io/ingress"]);
        var env = JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, string>>>(pod.Metadata.Annotations[SidecarsAnnotations.Settings])!;
        Assert.Equal("1", env["jupyter"]["A"]);
        Assert.Equal("registry.example.org:5000/jupyter:1.2", pod.Spec.Containers[0].Image);
        Assert.Equal("regcred", Assert.Single(pod.Spec.ImagePullSecrets).Name);
        var storage = Assert.Single(pod.Spec.Volumes);
        Assert.Null(storage.EmptyDir);
        Assert.Equal("sciencedata-alice-example-org-z7keyt4lnfoo3", storage.PersistentVolumeClaim.ClaimName);
    }

    [Fact]
    public void The_pod_opts_in_to_injection_whatever_its_namespace_label()
    {
        var pod = UserPodFactory.BuildPod(ManifestParser.Parse(Manifest), "alice", null, Options, "abc");
        Assert.Equal("true", pod.Metadata.Annotations[SidecarsAnnotations.Inject]);
    }

    [Fact]
    public void A_manifest_that_opts_out_but_asks_for_tokens_is_refused_with_the_reason()
    {
        var manifest = Manifest.Replace(
            "sidecars.io/user: forged@example.org",
            "sidecars.io/user: forged@example.org\n    sidecars.io/inject: \"false\"\n    sciencedata.dk/copy-token: token",
            StringComparison.Ordinal);
        var e = Assert.Throws<UserPodsException>(() => UserPodFactory.BuildPod(ManifestParser.Parse(manifest), "alice", null, Options, "abc"));
        Assert.Equal(UserPodsError.InvalidArgument, e.Error);
        Assert.Contains("opts out of injection", e.Message);
        Assert.Contains("annotation sciencedata.dk/copy-token", e.Message);
    }

    [Fact]
    public void A_manifest_that_opts_out_and_needs_nothing_keeps_its_choice()
    {
        var manifest = Manifest.Replace(
            "sidecars.io/user: forged@example.org", "sidecars.io/user: forged@example.org\n    sidecars.io/inject: \"false\"", StringComparison.Ordinal);
        var pod = UserPodFactory.BuildPod(ManifestParser.Parse(manifest), "alice", null, Options, "abc");
        Assert.Equal("false", pod.Metadata.Annotations[SidecarsAnnotations.Inject]);
    }

    [Fact]
    public void Settings_for_an_unknown_container_are_refused()
    {
        var settings = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["nope"] = new Dictionary<string, string>() };
        var e = Assert.Throws<UserPodsException>(() => UserPodFactory.BuildPod(ManifestParser.Parse(Manifest), "alice", settings, Options, "abc"));
        Assert.Contains("'nope'", e.Message);
    }

    [Fact]
    public void Service_and_ingress_follow_the_created_pod()
    {
        var manifest = ManifestParser.Parse(Manifest);
        var pod = UserPodFactory.BuildPod(manifest, "alice", null, Options, "abc");
        pod.Metadata.Name = "jupyter-alice-x7k2p";
        pod.Metadata.Uid = "uid-1";

        var service = UserPodFactory.BuildService(manifest.Service!, pod);
        var ingress = UserPodFactory.BuildIngress(manifest.Ingress!, service, pod, Options);

        Assert.Equal("jupyter-alice-x7k2p", service.Metadata.Name);
        Assert.Equal("abc", service.Spec.Selector["sidecars.io/user-pod-instance"]);
        Assert.Equal("uid-1", Assert.Single(service.Metadata.OwnerReferences).Uid);
        var rule = Assert.Single(ingress.Spec.Rules);
        Assert.Equal("jupyter-alice-x7k2p.pods.example.org", rule.Host);
        Assert.Equal("jupyter-alice-x7k2p", rule.Http.Paths[0].Backend.Service.Name);
        Assert.Equal(80, rule.Http.Paths[0].Backend.Service.Port.Number);
        var tls = Assert.Single(ingress.Spec.Tls);
        Assert.Equal("wildcard-tls", tls.SecretName);
        Assert.Equal(["jupyter-alice-x7k2p.pods.example.org"], tls.Hosts);
    }

    [Fact]
    public void A_pod_with_a_service_is_created_marked_unfinished_and_the_mark_cannot_be_forged_away()
    {
        var withService = UserPodFactory.BuildPod(ManifestParser.Parse(Manifest), "alice", null, Options, "abc");
        Assert.Equal("true", withService.Metadata.Annotations[UserPodKeys.Creating]);

        // A manifest that sets the mark itself but has no Service does not keep it (nothing would ever remove it).
        var podOnly = Manifest[..Manifest.IndexOf("---", StringComparison.Ordinal)].Replace(
            "sidecars.io/user: forged@example.org", "sidecars.io/user: forged@example.org\n    sidecars.io/creating: \"true\"", StringComparison.Ordinal);
        var pod = UserPodFactory.BuildPod(ManifestParser.Parse(podOnly), "alice", null, Options, "abc");
        Assert.False(pod.Metadata.Annotations.ContainsKey(UserPodKeys.Creating));
    }

    [Theory]
    [InlineData("jupyter", "alice", "jupyter-alice-")]
    [InlineData("9lives", "bob", "p-9lives-bob-")]
    public void Generated_names_are_dns_labels_starting_with_a_letter(string name, string user, string expected) =>
        Assert.Equal(expected, UserPodFactory.GenerateName(name, user));

    [Fact]
    public void Long_names_leave_room_for_the_random_suffix()
    {
        var prefix = UserPodFactory.GenerateName(new string('n', 80), new string('u', 80) + "@example.org");
        Assert.True(prefix.Length <= 58, prefix);
        Assert.True(KubernetesNames.IsDnsLabel(prefix + "abcde"));
    }

    [Fact]
    public void The_create_deadline_counts_from_creation()
    {
        var created = new DateTime(2024, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var pod = new V1Pod { Metadata = new V1ObjectMeta { CreationTimestamp = created } };
        Assert.Equal(new DateTimeOffset(created).AddMinutes(5), PodState.CreateDeadline(pod, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void Copy_token_keys_are_split_on_commas_and_spaces()
    {
        var pod = new V1Pod { Metadata = new V1ObjectMeta { Annotations = new Dictionary<string, string> { [SidecarsAnnotations.CopyToken] = "token, key2 token" } } };
        Assert.Equal(["token", "key2"], PodState.TokenKeys(pod));
    }
}
