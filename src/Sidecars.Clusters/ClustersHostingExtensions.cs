using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Sidecars.Identity.Admin;
using Sidecars.Kubernetes;
using Sidecars.Kubernetes.Leadership;
using Sidecars.Clusters;

// In the builder's namespace so the host registers the capability with one line and no using.
namespace Microsoft.AspNetCore.Builder;

/// <summary>Registers the clusters capability in the cluster agent host.</summary>
public static class ClustersHostingExtensions
{
    /// <summary>Options (section <c>Sidecars:Clusters</c>), the shared Kubernetes access and the cluster manager.</summary>
    public static WebApplicationBuilder AddSidecarsClusters(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!builder.Services.KubernetesAvailableFor(builder.Configuration, "clusters")) return builder;
        builder.Services.AddOptions<ClustersOptions>()
            .Bind(builder.Configuration.GetSection(ClustersOptions.Section))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ClustersOptions>, ClustersOptionsAttributesValidator>();
        builder.Services.AddSidecarsKubernetes(builder.Configuration);
        builder.Services.TryAddSingleton(TimeProvider.System);
        // Every replica answers from its informers; the elected one enforces create deadlines.
        builder.Services.AddSidecarsLeaderElection(builder.Configuration, ElectedComponents.ClusterAgent);
        builder.Services.AddSingleton<ClusterManager>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterManager>());
        builder.Services.AddGrpc();
        return builder;
    }

    /// <summary>Maps the Clusters service, admin-only.</summary>
    public static WebApplication MapSidecarsClusters(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (!KubernetesAvailability.IsEnabled(app.Services, "clusters")) return app;
        app.MapGrpcService<ClustersGrpcService>().RequireAuthorization(IdentityPolicies.Admin);
        return app;
    }
}
