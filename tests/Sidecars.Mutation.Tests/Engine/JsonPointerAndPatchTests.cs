using System.Text.Json.Nodes;

namespace Sidecars.Mutation.Tests;

public sealed class JsonPointerAndPatchTests
{
    [Theory]
    [InlineData("sidecars.io/owner", "sidecars.io~1owner")]
    [InlineData("a~b", "a~0b")]
    [InlineData("~/", "~0~1")]
    [InlineData("plain", "plain")]
    public void Escapes_tilde_and_slash(string key, string escaped)
    {
        Assert.Equal(escaped, JsonPointer.Escape(key));
        Assert.Equal(key, JsonPointer.Unescape(escaped));
    }

    [Fact]
    public void Parses_pointers_into_unescaped_tokens()
    {
        Assert.Equal(["metadata", "labels", "a/b~c"], JsonPointer.Parse("/metadata/labels/a~1b~0c"));
        Assert.Empty(JsonPointer.Parse(""));
        Assert.Throws<FormatException>(() => JsonPointer.Parse("metadata"));
    }

    [Fact]
    public void Applies_add_replace_remove_on_objects_and_arrays()
    {
        var doc = JsonNode.Parse("""{"a":{"b":1},"list":[1,2,3]}""");
        var result = JsonPatchApplier.Apply(doc,
        [
            JsonPatchOperation.Add("/a/c", JsonValue.Create("x")),
            JsonPatchOperation.Replace("/a/b", JsonValue.Create(2)),
            JsonPatchOperation.Add("/list/0", JsonValue.Create(0)),
            JsonPatchOperation.Add("/list/-", JsonValue.Create(4)),
            JsonPatchOperation.Replace("/list/1", JsonValue.Create(10)),
            JsonPatchOperation.Remove("/list/2"),
            JsonPatchOperation.Add("/new", new JsonObject { ["k/1"] = "v" }),
            JsonPatchOperation.Add("/new/k~12", JsonValue.Create("w")),
            JsonPatchOperation.Remove("/a/c"),
        ]);

        Assert.Equal("""{"a":{"b":2},"list":[0,10,3,4],"new":{"k/1":"v","k/2":"w"}}""", result!.ToJsonString());
    }

    [Fact]
    public void Values_are_copied_so_a_patch_can_be_applied_twice()
    {
        var patch = new[] { JsonPatchOperation.Add("/x", new JsonObject { ["y"] = 1 }) };
        var first = JsonPatchApplier.Apply(new JsonObject(), patch);
        var second = JsonPatchApplier.Apply(new JsonObject(), patch);
        Assert.Equal(first!.ToJsonString(), second!.ToJsonString());
    }

    [Theory]
    [InlineData("replace", "/missing")]
    [InlineData("remove", "/missing")]
    [InlineData("add", "/a/b/c")]
    [InlineData("add", "/list/5")]
    [InlineData("replace", "/list/3")]
    [InlineData("replace", "/list/x")]
    [InlineData("move", "/a")]
    [InlineData("add", "no-slash")]
    public void Invalid_operations_fail_with_a_patch_error(string op, string path)
    {
        var doc = JsonNode.Parse("""{"a":{},"list":[1,2,3]}""");
        Assert.Throws<JsonPatchException>(() => JsonPatchApplier.Apply(doc, [new JsonPatchOperation(op, path, JsonValue.Create(1))]));
    }
}
