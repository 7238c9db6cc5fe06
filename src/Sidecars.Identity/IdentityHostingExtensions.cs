using k8s;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Identity.Admin;
using Sidecars.Identity.Attestation;
using Sidecars.Identity.Service;
using Sidecars.Identity;
using Sidecars.Identity.Store;
using Sidecars.Identity.Trust;
using Sidecars.Kubernetes;

// In the hosting namespace so hosts register the capability with one line and no using.
namespace Microsoft.AspNetCore.Builder;

/// <summary>Registers the identity capability in the cluster agent host.</summary>
public static class IdentityHostingExtensions
{
    /// <summary>
    /// Options (section <c>Sidecars:Identity</c>), the store, the identity service, the "sidecars-admin" policy,
    /// and client certificates accepted (not required) on every HTTPS endpoint.
    /// </summary>
    public static WebApplicationBuilder AddSidecarsIdentity(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<IdentityOptions>()
            .Bind(builder.Configuration.GetSection(IdentityOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<IdentityOptions>, IdentityOptionsAttributesValidator>();

        // Without a cluster only the file store and admin client certificates are possible; with one, the shared
        // client (Sidecars:Kubernetes) serves the Secrets store and TokenReview.
        var kubernetes = KubernetesAvailability.IsConfigured(builder.Configuration);
        services.AddSingleton<IValidateOptions<IdentityOptions>>(new IdentityOptionsValidator(kubernetes));
        services.TryAddSingleton(TimeProvider.System);
        if (kubernetes)
        {
            services.AddSidecarsKubernetes(builder.Configuration);
            services.AddSingleton<ITokenReviewer>(provider => new KubernetesTokenReviewer(provider.GetRequiredService<IKubernetes>()));
            services.AddSingleton<IPodAttestor>(provider => new KubernetesPodAttestor(
                provider.GetRequiredService<IKubernetes>(), provider.GetRequiredService<IOptions<IdentityOptions>>()));
        }

        services.AddOptions<TrustOptions>()
            .Bind(builder.Configuration.GetSection(TrustOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<TrustOptions>, TrustOptionsAttributesValidator>();
        if (kubernetes && builder.Configuration.GetValue(TrustOptions.Section + ":" + nameof(TrustOptions.Enabled), defaultValue: true))
        {
            // Every replica runs it: each pass is a server-side apply of the same content, so replicas agree.
            services.AddSingleton<TrustBundleController>();
            services.AddHostedService(provider => provider.GetRequiredService<TrustBundleController>());
        }

        services.AddSingleton<IIdentityStore>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<IdentityOptions>>().Value;
            var kind = StoreKind(options);
            var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(IdentityHostingExtensions).FullName!);
            if (kind == IdentityStoreKind.Kubernetes)
            {
                IdentityLog.StoreInKubernetes(logger, options.Namespace);
                return new KubernetesIdentityStore(provider.GetRequiredService<IKubernetes>(), options.Namespace);
            }

            var store = new FileIdentityStore(options.FilePath);
            IdentityLog.StoreInFile(logger, store.FilePath);
            return store;
        });
        services.AddSingleton<ClusterIdentity>();
        // Replicas share the store, so they share the failure budget too; the file store has one replica.
        services.AddSingleton<ISeekFailureLimiter>(provider =>
            StoreKind(provider.GetRequiredService<IOptions<IdentityOptions>>().Value) == IdentityStoreKind.Kubernetes
                ? ActivatorUtilities.CreateInstance<KubernetesSeekFailureLimiter>(provider)
                : ActivatorUtilities.CreateInstance<InMemorySeekFailureLimiter>(provider));
        services.AddSingleton<AdminCertificateAuthorities>();

        services.AddGrpc();
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, AdminAuthenticationHandler>(IdentityPolicies.AdminScheme, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(IdentityPolicies.Admin, policy => policy
                .AddAuthenticationSchemes(IdentityPolicies.AdminScheme)
                .RequireAuthenticatedUser());

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
        {
            // The admin CA is private, so the TLS layer accepts any certificate and the admin scheme checks it.
            https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
            https.AllowAnyClientCertificate();
        }));
        return builder;
    }

    /// <summary>The store in use: Kubernetes Secrets inside a cluster, the file elsewhere, unless configured.</summary>
    private static IdentityStoreKind StoreKind(IdentityOptions options) => options.Store == IdentityStoreKind.Auto
        ? (KubernetesClientConfiguration.IsInCluster() ? IdentityStoreKind.Kubernetes : IdentityStoreKind.File)
        : options.Store;

    public static WebApplication MapSidecarsIdentity(this WebApplication app)
    {
        app.MapGrpcService<IdentityGrpcService>();
        return app;
    }
}
