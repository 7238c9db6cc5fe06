using System.Text.Json.Nodes;

namespace Sidecars.Webhook.Tests;

/// <summary>The AdmissionReview requests kube-apiserver 1.20.2 sent, from tests/fixtures/admission-reviews.</summary>
internal static class Fixtures
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    public static string Read(string name) => File.ReadAllText(Path(name));

    public static JsonObject ReadNode(string name) => JsonNode.Parse(Read(name))!.AsObject();
}
