using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Sidecars.Kubernetes.Leadership;

public static class LeadershipServiceCollectionExtensions
{
    /// <summary>
    /// Registers this process's <see cref="LeaseElector"/> for <paramref name="component"/> (Lease
    /// <c>sidecars-&lt;component&gt;-leader</c>, options from <c>Sidecars:Leadership</c>, namespace from
    /// <paramref name="namespace"/> when given). Safe to call from several capabilities; the first call decides.
    /// </summary>
    public static IServiceCollection AddSidecarsLeaderElection(
        this IServiceCollection services, IConfiguration configuration, string component, Func<IServiceProvider, string>? @namespace = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(LeaseElector)))
        {
            return services;
        }

        services.AddOptions<LeaderElectionOptions>().Bind(configuration.GetSection(LeaderElectionOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LeaderElectionOptions>, LeaderElectionOptionsAttributesValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<LeaderElectionOptions>>().Value;
            if (@namespace is not null)
            {
                options.Namespace = @namespace(sp);
            }

            return new LeaseElector(
                sp.GetRequiredService<KubernetesConnection>(), component, LeaseName(component), options,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<LeaseElector>>());
        });
        services.AddHostedService(sp => sp.GetRequiredService<LeaseElector>());
        services.AddSingleton(new LeaderOnlyRegistrations());
        services.AddHostedService(sp => new LeaderOnlyServices(
            sp.GetRequiredService<LeaseElector>(),
            [.. sp.GetRequiredService<LeaderOnlyRegistrations>().Factories.Select(f => f(sp))],
            sp.GetRequiredService<IHostApplicationLifetime>(),
            sp.GetRequiredService<ILogger<LeaderOnlyServices>>()));
        return services;
    }

    /// <summary>Runs <typeparamref name="T"/> (a registered singleton) only while this replica leads; needs <see cref="AddSidecarsLeaderElection"/> first.</summary>
    public static IServiceCollection AddLeaderOnlyHostedService<T>(this IServiceCollection services)
        where T : class, IHostedService
    {
        var registrations = services.Select(d => d.ImplementationInstance).OfType<LeaderOnlyRegistrations>().SingleOrDefault()
            ?? throw new InvalidOperationException($"{nameof(AddSidecarsLeaderElection)} must be called before {nameof(AddLeaderOnlyHostedService)}");
        registrations.Factories.Add(sp => sp.GetRequiredService<T>());
        return services;
    }

    /// <summary>The Lease that elects the leader of <paramref name="component"/>.</summary>
    public static string LeaseName(string component) => $"sidecars-{component}-leader";

    private sealed class LeaderOnlyRegistrations
    {
        public List<Func<IServiceProvider, IHostedService>> Factories { get; } = [];
    }
}
