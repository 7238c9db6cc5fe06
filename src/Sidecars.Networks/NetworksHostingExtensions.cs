using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sidecars.Identity.Admin;
using Sidecars.Kubernetes;
using Sidecars.Kubernetes.Leadership;
using Sidecars.Networks;
using Sidecars.Networks.Identity;

// In the builder's namespace so the host registers the capability with one line and no using.
namespace Microsoft.AspNetCore.Builder;

/// <summary>Registers the network controller in the cluster agent host.</summary>
public static class NetworksHostingExtensions
{
    public static WebApplicationBuilder AddSidecarsNetworks(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!builder.Services.KubernetesAvailableFor(builder.Configuration, "networks")) return builder;
        builder.Services.AddOptions<NetworksOptions>()
            .Bind(builder.Configuration.GetSection(NetworksOptions.Section))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<NetworksOptions>, NetworksOptionsAttributesValidator>();
        builder.Services.AddSidecarsKubernetes(builder.Configuration);
        builder.Services.TryAddSingleton(TimeProvider.System);
        // Every replica keeps the network CA and the namespaces' identity Secrets (writes race on resourceVersion), so
        // a new leader already has the controller's certificate.
        builder.Services.AddSingleton<NetworkCredentials>();
        builder.Services.AddHostedService<NetworkIdentityController>();
        builder.Services.AddSingleton<NetworkController>();
        // One replica joins and purges; every replica answers from its own informer.
        builder.Services.AddSidecarsLeaderElection(builder.Configuration, ElectedComponents.ClusterAgent);
        builder.Services.AddLeaderOnlyHostedService<NetworkController>();
        builder.Services.AddGrpc();
        return builder;
    }

    /// <summary>Maps the Networks service, admin-only.</summary>
    public static WebApplication MapSidecarsNetworks(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (!KubernetesAvailability.IsEnabled(app.Services, "networks")) return app;
        app.MapGrpcService<NetworksGrpcService>().RequireAuthorization(IdentityPolicies.Admin);
        return app;
    }
}
