using k8s.Models;

namespace Sidecars.Kubernetes.Tests;

public sealed class AnnotationPatchTests
{
    [Theory]
    [InlineData("a", "1", """{"metadata":{"uid":"u-1","annotations":{"a":"1"}}}""")]
    [InlineData("a", null, """{"metadata":{"uid":"u-1","annotations":{"a":null}}}""")]
    // Values are escaped, never spliced in.
    [InlineData("sidecars.io/x", "say \"hi\"", """{"metadata":{"uid":"u-1","annotations":{"sidecars.io/x":"say \u0022hi\u0022"}}}""")]
    public void Sets_or_removes_annotations_of_the_object_with_that_uid(string key, string? value, string expected)
    {
        var patch = AnnotationPatch.For("u-1", [new KeyValuePair<string, string?>(key, value)]);
        Assert.Equal(V1Patch.PatchType.MergePatch, patch.Type);
        Assert.Equal(expected, patch.Content);
    }
}
