using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Sidecars.Conventions;
using Sidecars.UserPods.Pods;

namespace Sidecars.UserPods.Configuration;

/// <summary>Rejects a configuration that cannot work, naming the key at fault.</summary>
public sealed class UserPodsOptionsValidator : IValidateOptions<UserPodsOptions>
{
    public ValidateOptionsResult Validate(string? name, UserPodsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (!KubernetesNames.IsDnsLabel(options.Namespace))
        {
            failures.Add($"namespace: '{options.Namespace}' is not a valid namespace name (lowercase letters, digits and '-', at most 63)");
        }

        Positive(failures, "createTimeout", options.CreateTimeout);
        Positive(failures, "deleteTimeout", options.DeleteTimeout);
        Positive(failures, "manifestFetchTimeout", options.ManifestFetchTimeout);
        Positive(failures, "tokenFetchTimeout", options.TokenFetchTimeout);
        if (options.DeleteGracePeriod < TimeSpan.Zero)
        {
            failures.Add("deleteGracePeriod: must not be negative");
        }

        if (string.IsNullOrWhiteSpace(options.ManifestWhitelist))
        {
            failures.Add("manifestWhitelist: is required (a regular expression the whole manifest URL must match)");
        }
        else
        {
            try
            {
                _ = new Regex(options.ManifestWhitelist, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                failures.Add($"manifestWhitelist: not a valid regular expression: {e.Message}");
            }
        }

        Range(failures, "manifestByteLimit", options.ManifestByteLimit, 1, 16 * 1024 * 1024);
        Range(failures, "tokenByteLimit", options.TokenByteLimit, 1, 1024 * 1024);
        Range(failures, "tokenPort", options.TokenPort, 1, 65535);
        if (string.IsNullOrEmpty(options.TokenClientCertificateFile) != string.IsNullOrEmpty(options.TokenClientKeyFile))
        {
            failures.Add("tokenClientKeyFile: tokenClientCertificateFile and tokenClientKeyFile are set together or not at all");
        }

        if (!string.IsNullOrEmpty(options.RegistryUrl) && !IsRegistry(options.RegistryUrl))
        {
            failures.Add($"registryUrl: '{options.RegistryUrl}' is not a registry host[:port][/path]");
        }

        OptionalName(failures, "registryPullSecret", options.RegistryPullSecret);
        if (!KubernetesNames.IsDnsSubdomain(options.IngressDomain))
        {
            failures.Add($"ingressDomain: '{options.IngressDomain}' is not a DNS domain");
        }

        OptionalName(failures, "ingressTlsSecret", options.IngressTlsSecret);
        OptionalName(failures, "ingressClassName", options.IngressClassName);

        if (!KubernetesNames.IsDnsLabel(options.StorageVolumeName))
        {
            failures.Add($"storageVolumeName: '{options.StorageVolumeName}' is not a valid volume name");
        }

        if (!options.StorageClaimTemplate.Contains("{user}", StringComparison.Ordinal) ||
            !KubernetesNames.IsDnsSubdomain(options.StorageClaimTemplate.Replace("{user}", "u", StringComparison.Ordinal)))
        {
            failures.Add($"storageClaimTemplate: '{options.StorageClaimTemplate}' must contain {{user}} and otherwise be a valid claim name");
        }

        if (options.DefaultRestartPolicy is not ("Always" or "OnFailure" or "Never"))
        {
            failures.Add($"defaultRestartPolicy: '{options.DefaultRestartPolicy}' is not Always, OnFailure or Never");
        }

        if (!string.IsNullOrEmpty(options.NfsStorageRoot) && (!options.NfsStorageRoot.StartsWith('/') || options.NfsStorageRoot.Split('/').Contains("..")))
        {
            failures.Add($"nfsStorageRoot: '{options.NfsStorageRoot}' is not an absolute path");
        }

        if (!IsQuantity(options.StorageCapacity))
        {
            failures.Add($"storageCapacity: '{options.StorageCapacity}' is not a quantity (e.g. 10Gi)");
        }

        if (!string.IsNullOrEmpty(options.TestingHost) && !System.Net.IPAddress.TryParse(options.TestingHost, out _))
        {
            failures.Add($"testingHost: '{options.TestingHost}' is not an IP address");
        }

        for (var i = 0; i < options.HostnameList.Count; i++)
        {
            if (!System.Net.IPAddress.TryParse(options.HostnameList[i].Address, out _))
            {
                failures.Add($"hostnameList:{i}:address: '{options.HostnameList[i].Address}' is not an IP address");
            }

            if (!KubernetesNames.IsDnsSubdomain(options.HostnameList[i].Hostname.ToLowerInvariant()))
            {
                failures.Add($"hostnameList:{i}:hostname: '{options.HostnameList[i].Hostname}' is not a host name");
            }
        }

        for (var i = 0; i < options.TrustedProxies.Count; i++)
        {
            if (!System.Net.IPAddress.TryParse(options.TrustedProxies[i], out _))
            {
                failures.Add($"trustedProxies:{i}: '{options.TrustedProxies[i]}' is not an IP address");
            }
        }

        ValidateCallers(failures, options.Callers);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures.Select(f => UserPodsOptions.Section + ":" + f));
    }

    private static void ValidateCallers(List<string> failures, IList<UserPodsCaller> callers)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < callers.Count; i++)
        {
            var caller = callers[i];
            if (caller.Key.Length < 16)
            {
                failures.Add($"callers:{i}:key: must be at least 16 characters");
            }
            else if (!keys.Add(caller.Key))
            {
                failures.Add($"callers:{i}:key: is used by another caller");
            }

            if (!UserIds.IsValid(caller.UserId))
            {
                failures.Add($"callers:{i}:userId: is required (1 to {UserIds.MaxLength} printable characters)");
            }
        }
    }

    private static void Positive(List<string> failures, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{key}: must be a positive duration (hh:mm:ss)");
        }
    }

    private static void Range(List<string> failures, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{key}: must be between {min} and {max}, not {value}");
        }
    }

    private static void OptionalName(List<string> failures, string key, string value)
    {
        if (!string.IsNullOrEmpty(value) && !KubernetesNames.IsDnsSubdomain(value))
        {
            failures.Add($"{key}: '{value}' is not a valid Kubernetes object name");
        }
    }

    private static bool IsQuantity(string value)
    {
        try
        {
            return new k8s.Models.ResourceQuantity(value).ToDecimal() > 0;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return false;
        }
    }

    private static bool IsRegistry(string value)
    {
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        var host = slash < 0 ? value : value[..slash];
        var colon = host.LastIndexOf(':');
        if (colon >= 0)
        {
            if (!int.TryParse(host[(colon + 1)..], out var port) || port is < 1 or > 65535)
            {
                return false;
            }

            host = host[..colon];
        }

        return KubernetesNames.IsDnsSubdomain(host.ToLowerInvariant()) &&
               (slash < 0 || Regex.IsMatch(value[(slash + 1)..], "^[a-z0-9]+([._/-][a-z0-9]+)*$", RegexOptions.None, TimeSpan.FromSeconds(1)));
    }
}
