using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Sidecars.Kubernetes;
using Sidecars.Kubernetes.Leadership;
using Sidecars.UserPods.Compatibility;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Grpc;
using Sidecars.UserPods.Hosting;
using Sidecars.UserPods.Manifests;
using Sidecars.UserPods.Pods;
using Sidecars.UserPods.Security;
using Sidecars.UserPods.Tokens;

// Extension methods live in the namespace of the types they extend so the host needs no extra using.
#pragma warning disable IDE0130
namespace Microsoft.Extensions.Hosting;
#pragma warning restore IDE0130

public static class UserPodsHostingExtensions
{
    /// <summary>
    /// Registers the user-pods API. Its settings are the host's <c>Sidecars:UserPods</c> section, fed also by the YAML
    /// file and environment aliases of <see cref="UserPodsConfiguration"/>; they are validated when the host starts.
    /// </summary>
    public static IHostApplicationBuilder AddSidecarsUserPods(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!builder.Services.KubernetesAvailableFor(builder.Configuration, "user-pods")) return builder;
        UserPodsConfiguration.AddSources(builder.Configuration, builder.Configuration);
        var services = builder.Services;

        services.AddOptions<UserPodsOptions>().Bind(builder.Configuration.GetSection(UserPodsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<UserPodsOptions>, UserPodsOptionsValidator>();
        services.AddSidecarsKubernetes(builder.Configuration);
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton<KubernetesAccess>();
        services.AddSingleton<RequestWork>();
        services.AddSingleton<UserPodCache>();
        services.AddSingleton<UserPodResources>();
        services.AddSingleton<TokenCache>();
        services.AddSingleton<UserPodsManager>();
        services.AddSingleton<UserPodsDiagnostics>();
        services.AddSingleton<ApiKeyAuthenticator>();
        services.AddSingleton<UserPodsCallInterceptor>();
        services.AddSingleton(sp => new ManifestFetcher(
            new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2) }),
            sp.GetRequiredService<IOptions<UserPodsOptions>>()));
        services.AddSingleton<TokenReaderCertificate>();
        services.TryAddSingleton<ITokenSource>(sp =>
            HttpTokenSource.Create(sp.GetRequiredService<TokenReaderCertificate>(), sp.GetRequiredService<IOptions<UserPodsOptions>>()));
        // One replica reaps pods that never became Ready.
        services.AddSidecarsLeaderElection(builder.Configuration, ElectedComponents.ClusterAgent);
        services.AddSingleton<UserPodLifecycle>();
        services.AddLeaderOnlyHostedService<UserPodLifecycle>();

        services.AddGrpc()
            .AddJsonTranscoding()
            .AddServiceOptions<UserPodsGrpcService>(o => o.Interceptors.Add<UserPodsCallInterceptor>());
        return builder;
    }

    /// <summary>
    /// Serves the UserPods gRPC service, its HTTP/JSON routes (POST /create_pod, ...) and the original API's answer
    /// shapes under <see cref="OriginalShapeEndpoints.Prefix"/>; an empty group when skipped.
    /// </summary>
    public static IEndpointConventionBuilder MapSidecarsUserPods(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (!KubernetesAvailability.IsEnabled(endpoints.ServiceProvider, "user-pods"))
        {
            return endpoints.MapGroup("/");
        }

        endpoints.MapOriginalShapes();
        return endpoints.MapGrpcService<UserPodsGrpcService>();
    }
}
