using System.Net;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using Sidecars.Kubernetes;
using Sidecars.Kubernetes.Leadership;
using Sidecars.Mutation;
using Sidecars.Observability;
using Sidecars.Webhook.Admission;
using Sidecars.Webhook.Configuration;
using Sidecars.Webhook.Hosting;
using Sidecars.Webhook.Repair;
using Sidecars.Webhook.Tls;

namespace Sidecars.Webhook;

/// <summary>Wires the webhook into a host: options, the engine, Kestrel with reloadable TLS, background loops.</summary>
public static class WebhookHostingExtensions
{
    public const string MutatePath = "/mutate";

    public static WebApplicationBuilder AddSidecarsWebhook(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var deprecated = DeprecatedKeys.Apply(builder.Configuration, builder.Configuration, DeprecatedKeys.Webhook);
        if (deprecated.Count > 0)
        {
            var warning = DeprecatedKeys.Warning(deprecated, DeprecatedKeys.Webhook);
            services.AddHostedService(sp => ActivatorUtilities.CreateInstance<DeprecatedKeysReporter>(sp, warning));
        }

        builder.Logging.AddSidecarsDefaults(builder.Configuration);
        MeterPublishing.Configure();
        services.AddOptions<WebhookOptions>().Bind(builder.Configuration.GetSection(WebhookOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsAttributesValidator>();
        services.AddOptions<RotationOptions>().Bind(builder.Configuration.GetSection(RotationOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RotationOptions>, RotationOptionsAttributesValidator>();
        services.AddOptions<RepairOptions>().Bind(builder.Configuration.GetSection(RepairOptions.Section)).ValidateOnStart();
        services.AddOptions<InjectionOptions>().Bind(builder.Configuration.GetSection(InjectionOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<InjectionOptions>, InjectionOptionsAttributesValidator>();
        services.AddSingleton<IValidateOptions<InjectionOptions>, InjectionOptionsValidator>();
        services.PostConfigure<InjectionOptions>(injection =>
        {
            var own = builder.Configuration.GetSection(WebhookOptions.Section).Get<WebhookOptions>()?.Namespace ?? new WebhookOptions().Namespace;
            injection.ExcludedNamespaces = [.. injection.ExcludedNamespaces.Union(["kube-system", "kube-public", own], StringComparer.Ordinal)];
        });
        services.AddSingleton(sp => new MutationEngine(sp.GetRequiredService<IOptions<InjectionOptions>>().Value));
        services.AddSingleton<AdmissionGate>();
        services.AddSingleton<OverloadRecovery>();
        services.AddHostedService(sp => sp.GetRequiredService<OverloadRecovery>());
        services.AddSingleton<AdmissionHandler>();
        services.AddSingleton<ShutdownDrain>();
        services.AddHostedService(sp => sp.GetRequiredService<ShutdownDrain>());
        services.AddTransient<IStartupFilter, ShutdownDrainStartupFilter>();
        services.AddSingleton(sp => new ApiServerClients(sp.GetRequiredService<IOptions<WebhookOptions>>().Value));
        services.AddSingleton<CertificateReloader>();
        services.AddSingleton<RepairPlanner>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<AdmissionWarmup>();
        services.AddHostedService(sp => sp.GetRequiredService<AdmissionWarmup>());
        services.AddSingleton<StartupMemoryRelease>();
        services.AddHostedService(sp => sp.GetRequiredService<StartupMemoryRelease>());
        services.AddHealthChecks()
            .AddCheck<ServingCertificateHealthCheck>("serving-certificate", tags: ["ready"])
            .Add(new HealthCheckRegistration("admission-warm-up", sp => sp.GetRequiredService<AdmissionWarmup>(), failureStatus: null, tags: ["ready"]));

        var kubernetes = KubernetesConfiguration(builder.Configuration);
        var webhook = builder.Configuration.GetSection(WebhookOptions.Section).Get<WebhookOptions>() ?? new WebhookOptions();
        if (kubernetes is null)
        {
            services.AddSingleton<INamespaceLabelSource, NoNamespaceLabels>();
        }
        else
        {
            // A connection of its own, not the client's: the webhook calls no generated operation, and constructing the
            // client would link serializer metadata for every kind of the API into the binary.
            services.AddSingleton(_ => KubernetesConnection.Create(kubernetes));
            services.AddSingleton(sp => new SharedInformerFactory(sp.GetRequiredService<KubernetesConnection>(), sp.GetRequiredService<ILoggerFactory>()));
            if (webhook.WatchNamespaces)
            {
                services.AddSingleton<NamespaceLabelCache>();
                services.AddSingleton<INamespaceLabelSource>(sp => sp.GetRequiredService<NamespaceLabelCache>());
                services.AddHostedService(sp => sp.GetRequiredService<NamespaceLabelCache>());
            }
            else
            {
                services.AddSingleton<INamespaceLabelSource, NoNamespaceLabels>();
            }

            // The leader rotates certificates and runs the repair loop; the Lease lives in the webhook's namespace.
            services.AddSidecarsLeaderElection(builder.Configuration, ElectedComponents.Webhook, sp => sp.GetRequiredService<IOptions<WebhookOptions>>().Value.Namespace);
            if (builder.Configuration.GetSection(RotationOptions.Section).Get<RotationOptions>()?.Enabled == true)
            {
                services.AddHostedService<CertificateRotator>();
            }

            if (builder.Configuration.GetSection(RepairOptions.Section).Get<RepairOptions>()?.Enabled ?? true)
            {
                services.AddSingleton<RepairLoop>();
                services.AddHostedService(sp => sp.GetRequiredService<RepairLoop>());
            }
        }

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            kestrel.AddServerHeader = false;
            // Kestrel's own cap sits above ours so a moderately oversized review is drained and answered 413 with the
            // reason (the handler refuses it); a huge one is cut off by Kestrel.
            kestrel.Limits.MaxRequestBodySize = webhook.MaxRequestBytes * 4;
            var address = IPAddress.Parse(webhook.Address);
            kestrel.Listen(address, webhook.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(https =>
                {
                    var reloader = kestrel.ApplicationServices.GetRequiredService<CertificateReloader>();
                    https.ServerCertificateSelector = (_, _) => reloader.Current;
                    if (kestrel.ApplicationServices.GetRequiredService<ApiServerClients>().Required)
                    {
                        // Asked for at the handshake, judged per request (a clear 401 instead of a failed handshake).
                        https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                        https.ClientCertificateValidation = (_, _, _) => true;
                    }
                });
            });
            if (webhook.MetricsPort > 0)
            {
                kestrel.Listen(address, webhook.MetricsPort);
            }
        });
        return builder;
    }

    public static IEndpointRouteBuilder MapSidecarsWebhook(this IEndpointRouteBuilder endpoints)
    {
        var handler = endpoints.ServiceProvider.GetRequiredService<AdmissionHandler>();
        endpoints.MapPost(MutatePath, handler.HandleAsync);
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        endpoints.MapMetrics();
        return endpoints;
    }

    /// <summary>A kubeconfig from Sidecars:Kubernetes:KubeconfigPath, in-cluster configuration inside a pod, otherwise none.</summary>
    private static KubernetesClientConfiguration? KubernetesConfiguration(ConfigurationManager configuration) =>
        KubernetesClientConfig.FindExplicit(configuration[KubernetesOptions.Section + ":" + nameof(KubernetesOptions.KubeconfigPath)]);
}

/// <summary>Ready once a serving certificate is loaded.</summary>
internal sealed class ServingCertificateHealthCheck(CertificateReloader reloader) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(reloader.HasCertificate || reloader.TryReload()
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("no serving certificate loaded yet"));
}
