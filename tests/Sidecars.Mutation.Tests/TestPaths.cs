using System.Runtime.CompilerServices;

namespace Sidecars.Mutation.Tests;

/// <summary>Locates files beside the test sources (goldens are read from and regenerated into the source tree).</summary>
internal static class TestPaths
{
    public static string ProjectDirectory { get; } = Locate();

    /// <summary>The AdmissionReviews kube-apiserver 1.20.2 sent, shared with the webhook tests (tests/fixtures).</summary>
    public static string Fixture(string name) =>
        Path.Combine(ProjectDirectory, "..", "fixtures", "admission-reviews", name);

    public static string Golden(string name) => Path.Combine(ProjectDirectory, "golden", name + ".json");

    private static string Locate([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
