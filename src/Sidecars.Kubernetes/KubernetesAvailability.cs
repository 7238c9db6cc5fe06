using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Sidecars.Kubernetes;

/// <summary>
/// Whether the process can reach a Kubernetes cluster at all, so capabilities that need one can be left out of a
/// cluster agent that runs without a cluster (each skipped capability is logged once at start).
/// </summary>
public static partial class KubernetesAvailability
{
    /// <summary>
    /// True when <c>Sidecars:Kubernetes:KubeconfigPath</c> is set, the process runs in a cluster, $KUBECONFIG names an
    /// existing file, or ~/.kube/config exists.
    /// </summary>
    public static bool IsConfigured(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (!string.IsNullOrEmpty(configuration[KubernetesOptions.Section + ":" + nameof(KubernetesOptions.KubeconfigPath)])
            || KubernetesClientConfiguration.IsInCluster())
        {
            return true;
        }

        var fromEnvironment = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Any(File.Exists);
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return !string.IsNullOrEmpty(home) && File.Exists(Path.Combine(home, ".kube", "config"));
    }

    /// <summary>
    /// The guard of a capability that needs Kubernetes: true when it is configured; otherwise records
    /// <paramref name="capability"/> as skipped (logged once when the host starts) and returns false.
    /// </summary>
    public static bool KubernetesAvailableFor(this IServiceCollection services, IConfiguration configuration, string capability)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(capability);
        if (IsConfigured(configuration))
        {
            return true;
        }

        var skipped = services.Select(d => d.ImplementationInstance).OfType<SkippedCapabilities>().FirstOrDefault();
        if (skipped is null)
        {
            skipped = new SkippedCapabilities();
            services.AddSingleton(skipped);
            services.AddHostedService<SkippedCapabilitiesReporter>();
        }

        skipped.Names.Add(capability);
        return false;
    }

    /// <summary>Whether <see cref="KubernetesAvailableFor"/> let <paramref name="capability"/> in: the guard of its endpoint mapping.</summary>
    public static bool IsEnabled(IServiceProvider services, string capability)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetService<SkippedCapabilities>()?.Names.Contains(capability) != true;
    }

    internal sealed class SkippedCapabilities
    {
        public List<string> Names { get; } = [];
    }

    private sealed partial class SkippedCapabilitiesReporter(SkippedCapabilities skipped, ILogger<SkippedCapabilitiesReporter> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            foreach (var name in skipped.Names)
            {
                Skipped(logger, name);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(1, LogLevel.Warning,
            "Capability {Capability} is off: no Kubernetes configuration (set Sidecars:Kubernetes:KubeconfigPath or KUBECONFIG, or run in a cluster)")]
        private static partial void Skipped(ILogger logger, string capability);
    }
}
