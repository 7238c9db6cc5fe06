using Microsoft.Extensions.Options;
using Sidecars.Conventions;

namespace Sidecars.Mutation;

/// <summary>Rules of <see cref="InjectionOptions"/> that span fields or need parsing; each failure names its key.</summary>
public sealed class InjectionOptionsValidator : IValidateOptions<InjectionOptions>
{
    private static readonly ProbeOptionsAttributesValidator ProbeAttributes = new();

    public ValidateOptionsResult Validate(string? name, InjectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var prefix = InjectionOptions.Section + ":";

        if (string.IsNullOrWhiteSpace(options.AgentImage) || options.AgentImage.Any(char.IsWhiteSpace))
        {
            failures.Add($"{prefix}AgentImage must be an image reference without spaces");
        }

        if (options.Registry.Length > 0 && !KubernetesNames.IsRegistry(options.Registry))
        {
            failures.Add($"{prefix}Registry '{options.Registry}' must be host[:port][/path] without scheme or trailing '/'");
        }

        if (!string.IsNullOrEmpty(options.ImagePullSecret) && !KubernetesNames.IsDnsSubdomain(options.ImagePullSecret))
        {
            failures.Add($"{prefix}ImagePullSecret '{options.ImagePullSecret}' is not a valid Secret name");
        }

        if (!KubernetesNames.IsDnsLabel(options.VolumeName))
        {
            failures.Add($"{prefix}VolumeName '{options.VolumeName}' is not a valid volume name");
        }

        ValidateClaimTemplate(options.ClaimNameTemplate, prefix, failures);

        if (options.LightpeerPort is SidecarsNames.PodAgentHealthPort or SidecarsNames.LightpeerHealthPort or SidecarsNames.PodAgentTokenPort)
        {
            failures.Add($"{prefix}LightpeerPort {options.LightpeerPort} collides with a sidecar health or token port");
        }

        if (!options.TokenDirectory.StartsWith('/') || options.TokenDirectory.TrimEnd('/').Length == 0
            || options.TokenDirectory.TrimEnd('/') is SidecarsNames.SocketDirectory or SidecarsNames.SecretDirectory or SidecarsNames.ServiceAccountDirectory)
        {
            failures.Add($"{prefix}TokenDirectory '{options.TokenDirectory}' must be an absolute path other than / and the sidecars' own directories");
        }

        if (!KubernetesNames.IsQuantity(options.TokenVolumeSizeLimit))
        {
            failures.Add($"{prefix}TokenVolumeSizeLimit '{options.TokenVolumeSizeLimit}' is not a valid quantity");
        }

        if (options.ExcludedNamespaces.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add($"{prefix}ExcludedNamespaces must not contain empty names");
        }

        if (options.TrustedControllers.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add($"{prefix}TrustedControllers must not contain empty names");
        }

        if (options.TrustedDelegates.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add($"{prefix}TrustedDelegates must not contain empty names");
        }

        if (ProbeAttributes.Validate(null, options.Probes) is { Failed: true } probes)
        {
            failures.AddRange(probes.Failures.Select(f => $"{prefix}Probes: {f}"));
        }

        var security = options.SecurityContext;
        if (!Enum.IsDefined(security.Seccomp))
        {
            failures.Add($"{prefix}SecurityContext:Seccomp must be Unset, RuntimeDefault or Localhost");
        }

        if (security.Seccomp is SidecarSeccomp.Localhost && !IsLocalhostProfile(security.SeccompLocalhostProfile))
        {
            failures.Add($"{prefix}SecurityContext:SeccompLocalhostProfile '{security.SeccompLocalhostProfile}' must be a relative path without '..' (under the kubelet's seccomp root)");
        }

        ValidateResources(options.PodAgent, prefix + "PodAgent", failures);
        ValidateResources(options.Lightpeer, prefix + "Lightpeer", failures);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateClaimTemplate(string template, string prefix, List<string> failures)
    {
        var probe = template.Replace("{owner}", "owner", StringComparison.Ordinal)
            .Replace("{namespace}", "namespace", StringComparison.Ordinal);
        if (!KubernetesNames.IsDnsSubdomain(probe))
        {
            failures.Add($"{prefix}ClaimNameTemplate '{template}' must give a valid claim name (placeholders {{owner}}, {{namespace}})");
        }
    }

    private static void ValidateResources(SidecarResources resources, string key, List<string> failures)
    {
        foreach (var (side, map) in new[] { ("Requests", resources.Requests), ("Limits", resources.Limits) })
        {
            foreach (var (resource, quantity) in map)
            {
                if (!KubernetesNames.IsResourceName(resource) || !KubernetesNames.IsQuantity(quantity))
                {
                    failures.Add($"{key}:{side}:{resource} '{quantity}' is not a valid resource quantity");
                }
            }
        }
    }

    /// <summary>What the apiserver accepts as a <c>localhostProfile</c>: relative, no <c>..</c> segment.</summary>
    private static bool IsLocalhostProfile(string path) =>
        path.Length > 0 && !path.StartsWith('/') && !path.Any(char.IsWhiteSpace) && !path.Split('/').Contains("..");
}
