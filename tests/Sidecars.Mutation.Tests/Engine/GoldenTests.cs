using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sidecars.Mutation.Tests;

/// <summary>
/// Input pod → expected pod: the decision's patch is applied and the result (with the outcome, reasons and
/// warnings) compared to golden/&lt;case&gt;.json. Set UPDATE_GOLDEN=1 to rewrite the goldens, then review the diff.
/// </summary>
public sealed class GoldenTests
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static IEnumerable<object[]> Cases => GoldenCases.Names();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Mutated_pod_matches_golden(string name)
    {
        var (options, input) = GoldenCases.All[name]();
        var decision = new MutationEngine(options).Decide(input);
        var actual = Render(decision, Requests.Apply(input, decision));
        var path = TestPaths.Golden(name);

        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual);
        }

        Assert.True(File.Exists(path), $"golden {path} is missing; run with UPDATE_GOLDEN=1 and review it");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Deciding_the_mutated_pod_again_changes_nothing(string name)
    {
        var (options, input) = GoldenCases.All[name]();
        var engine = new MutationEngine(options);
        var first = engine.Decide(input);
        var mutated = Requests.Apply(input, first);

        var second = engine.Decide(input with { Object = Requests.ToElement(mutated) });

        Assert.Empty(second.Patch);
        Assert.True(second.PatchJson.IsEmpty);
        Assert.NotEqual(AdmissionOutcome.Mutated, second.Outcome);
        Assert.Empty(second.Injected);
        Assert.Empty(second.Rewrites);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Patch_json_is_the_serialised_patch(string name)
    {
        var (options, input) = GoldenCases.All[name]();
        var decision = new MutationEngine(options).Decide(input);

        if (decision.Patch.Count == 0)
        {
            Assert.True(decision.PatchJson.IsEmpty);
            return;
        }

        var parsed = JsonNode.Parse(decision.PatchJson.Span)!.AsArray();
        Assert.Equal(decision.Patch.Count, parsed.Count);
        var reapplied = JsonPatchApplier.Apply(JsonNode.Parse(input.Object.GetRawText()),
            parsed.Select(op => new JsonPatchOperation(op!["op"]!.GetValue<string>(), op["path"]!.GetValue<string>(), op["value"]?.DeepClone())));
        Assert.True(JsonNode.DeepEquals(Requests.Apply(input, decision), reapplied));
    }

    private static string Render(AdmissionDecision decision, JsonObject mutated)
    {
        // Noise that the engine never touches.
        mutated["metadata"]?.AsObject().Remove("managedFields");
        mutated["metadata"]?["annotations"]?.AsObject().Remove("kubectl.kubernetes.io/last-applied-configuration");
        var golden = new JsonObject
        {
            ["outcome"] = decision.Outcome.ToString(),
            ["allowed"] = decision.Allowed,
            ["reasons"] = new JsonArray(decision.Reasons.Select(r => (JsonNode)$"{(r.Applied ? "+" : "-")} {r.Feature} {r.Code}: {r.Message}").ToArray()),
            ["warnings"] = new JsonArray(decision.Warnings.Select(w => (JsonNode)w).ToArray()),
            ["injected"] = Counts(decision.Injected),
            ["rewrites"] = Counts(decision.Rewrites),
            ["patchOperations"] = decision.Patch.Count,
            ["object"] = mutated,
        };
        return golden.ToJsonString(Indented).ReplaceLineEndings("\n") + "\n";
    }

    private static JsonObject Counts(IReadOnlyDictionary<string, int> counts)
    {
        var json = new JsonObject();
        foreach (var (kind, count) in counts.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            json[kind] = count;
        }

        return json;
    }
}
