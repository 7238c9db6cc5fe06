using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Sidecars.Webhook.Tests;

/// <summary>Malformed and hostile AdmissionReviews sent to the real webhook over HTTPS.</summary>
public sealed class HostileRequestTests : RunningWebhookTests
{
    private Task<HttpResponseMessage> PostAsync(string body, string contentType = "application/json")
        => Client.PostAsync("/mutate", new StringContent(body, Encoding.UTF8, contentType));

    [Theory]
    [InlineData("not json at all", "malformed-review")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "malformed-review")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{", "malformed-review")]
    [InlineData("[]", "malformed-review")]
    [InlineData("", "malformed-review")]
    public async Task Unreadable_reviews_get_400_with_the_reason(string body, string reason)
    {
        using var response = await PostAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.StartsWith(reason + ":", text, StringComparison.Ordinal);
        Assert.True(text.Length > reason.Length + 3, "the reason is spelled out");
    }

    [Fact]
    public async Task Deeply_nested_json_is_refused_not_crashed_on()
    {
        var body = new string('[', 10_000) + new string(']', 10_000);

        using var response = await PostAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Oversized_body_gets_413_with_content_length()
    {
        var review = Fixtures.ReadNode("team-a_jupyter-alice_create.json");
        review["request"]!["object"]!["metadata"]!["annotations"]!["padding"] = new string('x', 70_000);

        using var response = await PostAsync(review.ToJsonString());

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("body-too-large", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversized_chunked_body_is_cut_off()
    {
        using var content = new PushStreamContentOfSize(200_000);
        content.Headers.ContentType = new("application/json");

        using var response = await Client.PostAsync("/mutate", content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("body-too-large", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Wrong_content_type_gets_415()
    {
        using var response = await PostAsync(Fixtures.Read("team-a_lightpeer-a_create.json"), "text/plain");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Get_is_not_an_admission_review()
    {
        using var response = await Client.GetAsync("/mutate");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task A_kind_other_than_pod_or_workload_is_allowed_untouched_with_a_reason()
    {
        var review = Fixtures.ReadNode("default_plain_create.json");
        review["request"]!["kind"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = "ConfigMap" };
        review["request"]!["object"] = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = "c" } };

        var answer = await ReviewAsync(review.ToJsonString());

        Assert.True(answer["allowed"]!.GetValue<bool>());
        Assert.Null(answer["patch"]);
        Assert.Equal("75cf4e77-7a4f-469f-bbc1-92277e83494f", answer["uid"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_real_review_is_answered_with_its_uid_and_a_patch()
    {
        var answer = await ReviewAsync(Fixtures.Read("team-a_jupyter-alice_create.json"));

        Assert.Equal("cb1d6dce-ddb0-4448-b00d-82e97ad1ae86", answer["uid"]!.GetValue<string>());
        Assert.True(answer["allowed"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Kube_system_is_never_patched()
    {
        var answer = await ReviewAsync(Fixtures.Read("kube-system_sys-pod_create.json"));

        Assert.True(answer["allowed"]!.GetValue<bool>());
        Assert.Null(answer["patch"]);
    }

    [Fact]
    public async Task Garbage_flood_leaves_the_server_serving()
    {
        var random = new Random(7);
        for (var i = 0; i < 40; i++)
        {
            var bytes = new byte[random.Next(1, 4096)];
            random.NextBytes(bytes);
            using var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new("application/json");
            using var response = await Client.PostAsync("/mutate", content);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        await AssertStillServesAsync();
    }

    private async Task AssertStillServesAsync()
    {
        var answer = await ReviewAsync(Fixtures.Read("team-a_lightpeer-a_create.json"));
        Assert.True(answer["allowed"]!.GetValue<bool>());
    }

    private async Task<JsonObject> ReviewAsync(string body)
    {
        using var response = await PostAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var review = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal("admission.k8s.io/v1", review["apiVersion"]!.GetValue<string>());
        Assert.Equal("AdmissionReview", review["kind"]!.GetValue<string>());
        return review["response"]!.AsObject();
    }

    /// <summary>A body of the given size sent without Content-Length (chunked).</summary>
    private sealed class PushStreamContentOfSize(int size) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = Encoding.ASCII.GetBytes(new string(' ', 8192));
            for (var written = 0; written < size; written += chunk.Length)
            {
                await stream.WriteAsync(chunk);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
