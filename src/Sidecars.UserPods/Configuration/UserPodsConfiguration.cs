using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;

namespace Sidecars.UserPods.Configuration;

/// <summary>
/// The user-pods configuration root: the YAML file, then environment variables prefixed <c>SIDECARS_</c> (which
/// override it), then any overrides the host adds. Keys are case-insensitive.
/// </summary>
public static class UserPodsConfiguration
{
    public const string EnvironmentPrefix = "SIDECARS_";

    /// <summary>Environment variable naming the YAML file when <c>--config</c> is not given.</summary>
    public const string ConfigFileEnvironmentVariable = "SIDECARS_CONFIG";

    public static IConfigurationRoot Build(string? yamlPath, Action<IConfigurationBuilder>? overrides = null)
    {
        var builder = new ConfigurationBuilder();
        if (!string.IsNullOrEmpty(yamlPath))
        {
            var full = Path.GetFullPath(yamlPath);
            if (!File.Exists(full))
            {
                throw new FileNotFoundException($"user-pods configuration file {full} does not exist", full);
            }

            builder.Add(new YamlConfigurationSource
            {
                Path = Path.GetFileName(full),
                FileProvider = new PhysicalFileProvider(Path.GetDirectoryName(full)!),
                Optional = false,
                ReloadOnChange = false,
            });
        }

        builder.AddEnvironmentVariables(EnvironmentPrefix);
        overrides?.Invoke(builder);
        return builder.Build();
    }
}
