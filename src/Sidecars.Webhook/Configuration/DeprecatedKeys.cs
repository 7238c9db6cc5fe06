using Microsoft.Extensions.Configuration;
using Sidecars.Kubernetes;
using Sidecars.Mutation;

namespace Sidecars.Webhook.Configuration;

/// <summary>
/// Configuration keys the webhook used before every host bound <c>Sidecars:&lt;Capability&gt;</c> sections, still
/// accepted: a value set under an old key is used when its new key is not set (the host warns once at start).
/// </summary>
public static class DeprecatedKeys
{
    /// <summary>Old key → new key; the mapping covers the key and everything under it.</summary>
    public static readonly IReadOnlyList<(string Old, string New)> Webhook =
    [
        ("Webhook", WebhookOptions.Section),
        ("Injection", InjectionOptions.Section),
        ("Kubernetes:Kubeconfig", KubernetesOptions.Section + ":" + nameof(KubernetesOptions.KubeconfigPath)),
    ];

    /// <summary>Copies every value set under an old key to its new key unless that is set; returns the old keys in use.</summary>
    public static IReadOnlyList<string> Apply(IConfigurationBuilder builder, IConfiguration configuration, IReadOnlyList<(string Old, string New)> aliases)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(aliases);
        var copies = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var used = new List<string>();
        foreach (var (old, replacement) in aliases)
        {
            var found = false;
            foreach (var (key, value) in configuration.GetSection(old).AsEnumerable())
            {
                if (value is null)
                {
                    continue;
                }

                found = true;
                var target = replacement + key[old.Length..];
                if (configuration[target] is null)
                {
                    copies[target] = value;
                }
            }

            if (found)
            {
                used.Add(old);
            }
        }

        if (copies.Count > 0)
        {
            builder.AddInMemoryCollection(copies);
        }

        return used;
    }

    /// <summary>The one-line warning naming the old keys in use and their replacements.</summary>
    public static string Warning(IReadOnlyList<string> used, IReadOnlyList<(string Old, string New)> aliases) =>
        "Deprecated configuration keys in use, rename them: " +
        string.Join(", ", used.Select(old => $"{old} → {aliases.First(a => a.Old == old).New}"));
}
