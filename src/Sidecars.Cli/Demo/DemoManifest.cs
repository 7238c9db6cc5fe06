using k8s.Models;
using Sidecars.Mutation;

namespace Sidecars.Cli.Demo;

/// <summary>The embedded sample workload.</summary>
internal static class DemoManifest
{
    public static string Read()
    {
        using var stream = typeof(DemoManifest).Assembly.GetManifestResourceStream("Sidecars.Cli.Demo.demo.yaml")
            ?? throw new InvalidOperationException("the demo manifest is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The pod spec as applied, by Deployment or Pod name.</summary>
    public static Dictionary<string, V1PodSpec> AppliedSpecs(string manifest)
    {
        var specs = new Dictionary<string, V1PodSpec>(StringComparer.Ordinal);
        foreach (var document in KubernetesObjects.ReadAll(manifest))
        {
            switch (document)
            {
                case V1Deployment deployment:
                    specs[deployment.Metadata.Name] = deployment.Spec.Template.Spec;
                    break;
                case V1Pod pod:
                    specs[pod.Metadata.Name] = pod.Spec;
                    break;
            }
        }

        return specs;
    }
}
