using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sidecars.Mutation.Tests;

public sealed class AdmissionReviewCodecTests
{
    [Fact]
    public void Reads_a_recorded_deployment_pod_request()
    {
        var bytes = File.ReadAllBytes(TestPaths.Fixture("team-a_fortuned-deployment-pod_create.json"));

        Assert.True(AdmissionReviewCodec.TryRead(bytes, out var input, out var error), error);

        Assert.Equal("52f6f3be-9586-48cf-8220-839f1df07b62", input.Uid);
        Assert.Equal(GroupVersionKind.Pod, input.Kind);
        Assert.Equal("pods", input.Resource);
        Assert.Equal("CREATE", input.Operation);
        Assert.Equal("team-a", input.Namespace);
        Assert.Null(input.Name);
        Assert.Equal("system:serviceaccount:kube-system:replicaset-controller", input.UserName);
        Assert.Contains("system:serviceaccounts:kube-system", input.UserGroups);
        Assert.False(input.DryRun);
        Assert.Null(input.OldObject);
        Assert.Equal("fortuned-8464656d94-", input.Object.GetProperty("metadata").GetProperty("generateName").GetString());
    }

    [Fact]
    public void Reads_dry_run_and_old_object()
    {
        Assert.True(AdmissionReviewCodec.TryRead(File.ReadAllBytes(TestPaths.Fixture("team-a_dry_create.json")), out var dry, out _));
        Assert.True(dry.DryRun);

        Assert.True(AdmissionReviewCodec.TryRead(File.ReadAllBytes(TestPaths.Fixture("team-a_jupyter-alice_update.json")), out var update, out _));
        Assert.Equal("UPDATE", update.Operation);
        Assert.NotNull(update.OldObject);
    }

    [Theory]
    [InlineData("", "malformed JSON")]
    [InlineData("not json", "malformed JSON")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"a\"", "malformed JSON")]
    [InlineData("{} {}", "malformed JSON")]
    [InlineData("[]", "expected an AdmissionReview object")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{}}", "unsupported apiVersion 'admission.k8s.io/v1beta1'")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\",\"request\":{}}", "unsupported kind 'Pod'")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "the review has no request")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":null}", "the review has no request")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"kind\":{\"version\":\"v1\",\"kind\":\"Pod\"}}}", "request.uid is missing")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\"}}", "request.kind is missing")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"version\":\"v1\",\"kind\":\"Pod\"},\"operation\":\"PATCH\"}}", "request.operation 'PATCH'")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"version\":\"v1\",\"kind\":\"Pod\"},\"operation\":\"CREATE\",\"userInfo\":{}}}", "request.userInfo.username is missing")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"version\":\"v1\",\"kind\":\"Pod\"},\"operation\":\"CREATE\",\"userInfo\":{\"username\":\"a\"}}}", "request.object is missing for CREATE")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"version\":\"v1\",\"kind\":\"Pod\"},\"operation\":\"CREATE\",\"userInfo\":{\"username\":\"a\"},\"object\":[1]}}", "request.object is not an object")]
    public void Rejects_malformed_reviews_with_a_reason(string json, string expected)
    {
        Assert.False(AdmissionReviewCodec.TryRead(Encoding.UTF8.GetBytes(json), out var input, out var error));
        Assert.Null(input);
        Assert.Contains(expected, error, StringComparison.Ordinal);

        Assert.False(AdmissionReviewCodec.TryRead(Encoding.UTF8.GetBytes(json).AsMemory(), out var pooled, out var pooledError, out var document));
        document?.Dispose();
        Assert.Null(pooled);
        Assert.Contains(expected, pooledError, StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_in_place_gives_the_same_input_and_the_same_response()
    {
        var bytes = File.ReadAllBytes(TestPaths.Fixture("team-a_jupyter-alice_create.json"));
        Assert.True(AdmissionReviewCodec.TryRead(bytes, out var copied, out _));
        Assert.True(AdmissionReviewCodec.TryRead(bytes.AsMemory(), out var inPlace, out var error, out var document), error);
        using (document)
        {
            Assert.Equal(copied.Uid, inPlace.Uid);
            Assert.Equal(copied.UserName, inPlace.UserName);
            Assert.Equal(copied.Object.GetRawText(), inPlace.Object.GetRawText());

            var engine = new MutationEngine(new InjectionOptions { Registry = "registry.example/team" });
            var decision = engine.Decide(inPlace with { NamespaceLabels = new Dictionary<string, string> { ["sidecars.io/injection"] = "enabled" } });
            var written = new System.Buffers.ArrayBufferWriter<byte>();
            AdmissionReviewCodec.WriteResponse(written, inPlace.Uid, decision);
            Assert.Equal(AdmissionReviewCodec.WriteResponse(inPlace.Uid, decision), written.WrittenSpan.ToArray());
            Assert.Equal(AdmissionOutcome.Mutated, decision.Outcome);
        }

        Assert.Throws<ObjectDisposedException>(() => inPlace.Object.GetRawText());
    }

    [Fact]
    public void Rejects_invalid_utf8_inside_a_string_both_ways()
    {
        // Structurally sound JSON whose annotation value holds a byte that is not UTF-8: refused as malformed, never
        // left to fail later when the value is read as text.
        var bytes = File.ReadAllBytes(TestPaths.Fixture("team-a_jupyter-alice_create.json"));
        var at = Encoding.UTF8.GetString(bytes).IndexOf("\"jupyter-alice\"", StringComparison.Ordinal) + 1;
        bytes[at] = 0xBF;

        Assert.False(AdmissionReviewCodec.TryRead(bytes, out _, out var error));
        Assert.Equal("malformed JSON: the body is not valid UTF-8", error);
        Assert.False(AdmissionReviewCodec.TryRead(bytes.AsMemory(), out _, out var inPlace, out var document));
        Assert.Equal(error, inPlace);
        Assert.Null(document);
    }

    [Fact]
    public void Rejects_a_truncated_recorded_review()
    {
        var bytes = File.ReadAllBytes(TestPaths.Fixture("team-a_jupyter-alice_create.json"));
        Assert.False(AdmissionReviewCodec.TryRead(bytes.AsSpan(0, bytes.Length / 2), out _, out var error));
        Assert.StartsWith("malformed JSON", error, StringComparison.Ordinal);
        Assert.False(AdmissionReviewCodec.TryRead(bytes.AsMemory(0, bytes.Length / 2), out _, out error, out var document));
        Assert.Null(document);
        Assert.StartsWith("malformed JSON", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_absurd_nesting_without_crashing()
    {
        var json = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":" + new string('[', 10000) + new string(']', 10000) + "}";
        Assert.False(AdmissionReviewCodec.TryRead(Encoding.UTF8.GetBytes(json), out _, out var error));
        Assert.StartsWith("malformed JSON", error, StringComparison.Ordinal);
        Assert.False(AdmissionReviewCodec.TryRead(Encoding.UTF8.GetBytes(json).AsMemory(), out _, out error, out _));
        Assert.StartsWith("malformed JSON", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Response_carries_the_base64_patch_and_warnings()
    {
        var input = Requests.Fixture("team-a_jupyter-alice_create.json");
        var decision = new MutationEngine(Requests.Options()).Decide(input with { });

        var response = JsonNode.Parse(AdmissionReviewCodec.WriteResponse(input.Uid, decision))!;

        Assert.Equal("admission.k8s.io/v1", response["apiVersion"]!.GetValue<string>());
        Assert.Equal("AdmissionReview", response["kind"]!.GetValue<string>());
        Assert.Equal(input.Uid, response["response"]!["uid"]!.GetValue<string>());
        Assert.True(response["response"]!["allowed"]!.GetValue<bool>());
        Assert.Equal("JSONPatch", response["response"]!["patchType"]!.GetValue<string>());
        var patch = JsonNode.Parse(Convert.FromBase64String(response["response"]!["patch"]!.GetValue<string>()))!.AsArray();
        Assert.Equal(decision.Patch.Count, patch.Count);
        Assert.Contains(patch, op => op!["path"]!.GetValue<string>() == "/spec/initContainers/0/image"
            && op["value"]!.GetValue<string>() == "registry.example.org/team/init-tools@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    }

    [Fact]
    public void Response_without_changes_has_no_patch_type()
    {
        var input = Requests.Fixture("kube-system_sys-pod_create.json");
        var decision = new MutationEngine(Requests.Options()).Decide(input);

        var response = JsonNode.Parse(AdmissionReviewCodec.WriteResponse(input.Uid, decision))!["response"]!.AsObject();

        Assert.True(response["allowed"]!.GetValue<bool>());
        Assert.False(response.ContainsKey("patchType"));
        Assert.False(response.ContainsKey("patch"));
        Assert.False(response.ContainsKey("status"));
    }

    [Fact]
    public void Denied_response_has_a_status_message_and_no_patch()
    {
        var input = Requests.Pod(GoldenCases.Pod(annotations: """{"sidecars.io/blessing":"not valid!"}"""));
        var decision = new MutationEngine(Requests.Options()).Decide(input);
        Assert.Equal(AdmissionOutcome.Denied, decision.Outcome);

        var response = JsonNode.Parse(AdmissionReviewCodec.WriteResponse(input.Uid, decision))!["response"]!.AsObject();

        Assert.False(response["allowed"]!.GetValue<bool>());
        Assert.False(response.ContainsKey("patch"));
        Assert.Equal(403, response["status"]!["code"]!.GetValue<int>());
        Assert.Contains("not valid!", response["status"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void Response_round_trips_through_the_reader_kinds()
    {
        var bytes = AdmissionReviewCodec.WriteResponse("u", new AdmissionDecision { Warnings = ["m"] });
        using var document = JsonDocument.Parse(bytes);
        Assert.Equal(JsonValueKind.Object, document.RootElement.GetProperty("response").ValueKind);
    }
}
