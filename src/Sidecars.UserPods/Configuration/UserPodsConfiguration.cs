using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.FileProviders;

namespace Sidecars.UserPods.Configuration;

/// <summary>
/// Where the user-pods settings (section <see cref="UserPodsOptions.Section"/>) come from besides the host's own
/// sources: a YAML file of the section's keys, named by <c>Sidecars:UserPods:ConfigFile</c> (or <c>--config</c>, or
/// <c>SIDECARS_CONFIG</c>), and the environment variables of the original user-pods API (<c>BACKEND_&lt;KEY&gt;</c>) and
/// of earlier releases (<c>SIDECARS_&lt;KEY&gt;</c>). Both rank below the host's environment variables
/// (<c>Sidecars__UserPods__&lt;Key&gt;</c>) and command line, and the original's key names (<c>timeoutCreate</c>,
/// <c>whitelistManifestRegex</c>, ...) and Go durations (<c>90s</c>) are accepted in both.
/// </summary>
public static partial class UserPodsConfiguration
{
    public const string ConfigFileKey = UserPodsOptions.Section + ":ConfigFile";

    /// <summary>Environment variable naming the YAML file, from earlier releases.</summary>
    public const string ConfigFileEnvironmentVariable = "SIDECARS_CONFIG";

    /// <summary>Prefixes of environment variables read as keys of the section; a later prefix wins.</summary>
    public static readonly IReadOnlyList<string> EnvironmentPrefixes = ["BACKEND_", "SIDECARS_"];

    /// <summary>The original API's key names and the options they set.</summary>
    private static readonly Dictionary<string, string> OriginalNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["timeoutCreate"] = nameof(UserPodsOptions.CreateTimeout),
        ["timeoutDelete"] = nameof(UserPodsOptions.DeleteTimeout),
        ["whitelistManifestRegex"] = nameof(UserPodsOptions.ManifestWhitelist),
        ["localRegistryURL"] = nameof(UserPodsOptions.RegistryUrl),
        ["localRegistrySecret"] = nameof(UserPodsOptions.RegistryPullSecret),
        ["ingressWildCardSecret"] = nameof(UserPodsOptions.IngressTlsSecret),
    };

    /// <summary>Adds the YAML file and the environment aliases to a host's configuration, below its environment variables.</summary>
    public static void AddSources(IConfigurationBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var path = configuration[ConfigFileKey] ?? configuration["config"] ?? configuration[ConfigFileEnvironmentVariable]
                   ?? Environment.GetEnvironmentVariable(ConfigFileEnvironmentVariable);
        var sources = Sources(path);
        var at = builder.Sources.ToList().FindIndex(s => s is EnvironmentVariablesConfigurationSource { Prefix: null or "" });
        for (var i = 0; i < sources.Count; i++)
        {
            if (at < 0)
            {
                builder.Add(sources[i]);
            }
            else
            {
                builder.Sources.Insert(at + i, sources[i]);
            }
        }
    }

    /// <summary>The section's sources on their own, with the process's environment variables above them.</summary>
    public static IConfigurationRoot Build(string? yamlPath)
    {
        var builder = new ConfigurationBuilder();
        foreach (var source in Sources(yamlPath))
        {
            builder.Add(source);
        }

        return builder.AddEnvironmentVariables().Build();
    }

    /// <summary>A key of the section as the options name it, and its value (a Go duration becomes hh:mm:ss).</summary>
    public static KeyValuePair<string, string?> Canonical(string key, string? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        var head = colon < 0 ? key : key[..colon];
        if (!OriginalNames.TryGetValue(head, out var name))
        {
            return new(key, value);
        }

        if (value is not null && name.EndsWith("Timeout", StringComparison.Ordinal) && GoDuration(value) is { } duration)
        {
            value = duration.ToString("c", CultureInfo.InvariantCulture);
        }

        return new(name + (colon < 0 ? string.Empty : key[colon..]), value);
    }

    private static List<IConfigurationSource> Sources(string? yamlPath)
    {
        var sources = new List<IConfigurationSource>();
        if (!string.IsNullOrEmpty(yamlPath))
        {
            var full = Path.GetFullPath(yamlPath);
            if (!File.Exists(full))
            {
                throw new FileNotFoundException($"user-pods configuration file {full} does not exist", full);
            }

            sources.Add(new YamlConfigurationSource
            {
                Path = Path.GetFileName(full),
                FileProvider = new PhysicalFileProvider(Path.GetDirectoryName(full)!),
                Optional = false,
                ReloadOnChange = false,
                Prefix = UserPodsOptions.Section,
                Map = Canonical,
            });
        }

        sources.Add(new MemoryConfigurationSource { InitialData = EnvironmentAliases(Environment.GetEnvironmentVariables()) });
        return sources;
    }

    private static Dictionary<string, string?> EnvironmentAliases(IDictionary environment)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var prefix in EnvironmentPrefixes)
        {
            foreach (DictionaryEntry entry in environment)
            {
                if (entry.Key is string name && name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && name.Length > prefix.Length
                    && !name.Equals(ConfigFileEnvironmentVariable, StringComparison.OrdinalIgnoreCase))
                {
                    var (key, value) = Canonical(name[prefix.Length..].Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal), entry.Value as string);
                    data[ConfigurationPath.Combine(UserPodsOptions.Section, key)] = value;
                }
            }
        }

        return data;
    }

    private static TimeSpan? GoDuration(string text)
    {
        var match = GoDurationPattern().Match(text);
        if (!match.Success)
        {
            return null;
        }

        var total = TimeSpan.Zero;
        foreach (Capture part in match.Groups["part"].Captures)
        {
            var unit = part.Value.TrimStart("0123456789.".ToCharArray());
            var amount = double.Parse(part.Value[..^unit.Length], CultureInfo.InvariantCulture);
            total += unit switch
            {
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "s" => TimeSpan.FromSeconds(amount),
                _ => TimeSpan.FromMilliseconds(amount),
            };
        }

        return total;
    }

    [GeneratedRegex(@"^(?<part>[0-9]+(\.[0-9]+)?(h|ms|m|s))+$", RegexOptions.CultureInvariant)]
    private static partial Regex GoDurationPattern();
}
