using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Sidecars.Kubernetes;

public static class KubernetesServiceCollectionExtensions
{
    /// <summary>
    /// Registers the shared <see cref="IKubernetes"/> client (from <see cref="KubernetesOptions"/>), its
    /// <see cref="KubernetesConnection"/> and the <see cref="SharedInformerFactory"/>. Safe to call from several capabilities.
    /// </summary>
    public static IServiceCollection AddSidecarsKubernetes(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(SharedInformerFactory)))
        {
            return services;
        }

        services.AddOptions<KubernetesOptions>().Bind(configuration.GetSection(KubernetesOptions.Section))
            .Validate(o => string.IsNullOrEmpty(o.KubeconfigPath) || File.Exists(o.KubeconfigPath),
                $"{KubernetesOptions.Section}:KubeconfigPath names a file that does not exist")
            .Validate(o => o.WatchTimeout >= TimeSpan.FromSeconds(1) && o.WatchTimeout <= TimeSpan.FromHours(1),
                $"{KubernetesOptions.Section}:WatchTimeout must be between 00:00:01 and 01:00:00")
            .ValidateOnStart();
        services.TryAddSingleton<IKubernetes>(sp => new k8s.Kubernetes(BuildConfig(sp.GetRequiredService<IOptions<KubernetesOptions>>().Value)));
        services.TryAddSingleton(sp => KubernetesConnection.Of(sp.GetRequiredService<IKubernetes>()));
        services.TryAddSingleton(sp => new SharedInformerFactory(
            sp.GetRequiredService<KubernetesConnection>(), sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<IOptions<KubernetesOptions>>().Value.WatchTimeout));
        return services;
    }

    private static KubernetesClientConfiguration BuildConfig(KubernetesOptions options) =>
        KubernetesClientConfig.Build(options.KubeconfigPath, options.Context);
}
