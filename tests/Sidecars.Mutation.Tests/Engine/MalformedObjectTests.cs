using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sidecars.Mutation.Tests;

/// <summary>
/// Objects shaped in ways the apiserver would never send (the CLI reads any YAML): the engine answers each with a
/// decision, never an exception, and its patch applies to the object it was made for.
/// </summary>
public sealed class MalformedObjectTests
{
    private static readonly MutationEngine Engine = new(Requests.Options(o => o.TokenDirectory = "/tokens"));

    private static readonly JsonNode?[] Replacements = [null, 7, "text", true, new JsonArray(1, "x"), new JsonObject { ["x"] = 1 }];

    public static TheoryData<string> Fixtures() =>
        [.. Directory.GetFiles(Path.GetDirectoryName(TestPaths.Fixture("x"))!, "*_create.json").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    /// <summary>Every member and item of a recorded object, in turn replaced by each value of another type.</summary>
    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Any_member_of_the_wrong_type_gets_a_decision(string fixture)
    {
        var original = Requests.Fixture(fixture);
        var root = JsonNode.Parse(original.Object.GetRawText())!;
        var decided = 0;
        foreach (var path in Paths(root, ""))
        {
            foreach (var replacement in Replacements)
            {
                var copy = root.DeepClone();
                Replace(copy, path, replacement?.DeepClone());
                var input = original with { Object = JsonElement.Parse(copy.ToJsonString()) };

                var decision = Engine.Decide(input);

                Assert.True(decision.Reasons.Count > 0, $"{fixture} {path} = {replacement?.ToJsonString() ?? "null"}: no reason given");
                if (decision.Allowed && decision.Patch.Count > 0)
                {
                    JsonPatchApplier.Apply(copy, decision.Patch);
                }

                decided++;
            }
        }

        Assert.True(decided > 100, $"only {decided} variants of {fixture}");
    }

    [Theory]
    [InlineData("""{"metadata":[],"spec":"x"}""", "invalid-object")]
    [InlineData("""{"metadata":{"name":"p"}}""", "invalid-object")]
    [InlineData("""{"metadata":{"annotations":{"sidecars.io/blessing":"web"}},"spec":{"containers":"none"}}""", null)]
    public void A_pod_without_metadata_or_spec_objects_is_skipped_with_a_reason(string json, string? code)
    {
        var decision = Engine.Decide(Requests.Pod(json));

        Assert.True(decision.Allowed);
        if (code is not null)
        {
            Assert.Contains(decision.Reasons, r => r.Code == code && r.Message.Length > 0);
        }
    }

    private static IEnumerable<string> Paths(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, child) in obj.ToList())
                {
                    var childPath = path + "/" + key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
                    yield return childPath;
                    foreach (var inner in Paths(child, childPath))
                    {
                        yield return inner;
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    yield return path + "/" + i;
                    foreach (var inner in Paths(array[i], path + "/" + i))
                    {
                        yield return inner;
                    }
                }

                break;
        }
    }

    private static void Replace(JsonNode root, string path, JsonNode? value)
    {
        var segments = path.Split('/')[1..].Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
        var parent = root;
        foreach (var segment in segments[..^1])
        {
            parent = parent is JsonArray a ? a[int.Parse(segment, System.Globalization.CultureInfo.InvariantCulture)]! : parent[segment]!;
        }

        if (parent is JsonArray items)
        {
            items[int.Parse(segments[^1], System.Globalization.CultureInfo.InvariantCulture)] = value;
        }
        else
        {
            parent[segments[^1]] = value;
        }
    }
}
