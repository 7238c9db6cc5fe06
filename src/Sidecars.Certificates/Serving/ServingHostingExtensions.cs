using System.Net;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Certificates.Issuing;
using Sidecars.Certificates.Rotation;
using Sidecars.Certificates.Serving;
using Sidecars.Kubernetes;

// In the hosting namespace so hosts register the capability with one line and no using.
#pragma warning disable IDE0130
namespace Microsoft.AspNetCore.Builder;
#pragma warning restore IDE0130

/// <summary>The cluster agent's endpoints: gRPC over HTTPS with a self-issued, rotated certificate, and a plain probes port.</summary>
public static class ServingHostingExtensions
{
    /// <summary>Health check tag of the serving certificate (ready once one is served).</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Options (section <c>Sidecars:Serving</c>), the rotator of the serving Secret when a cluster is reachable, and
    /// Kestrel's two endpoints. Call after the capabilities so their HTTPS defaults (client certificates) apply.
    /// </summary>
    public static WebApplicationBuilder AddSidecarsServing(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<ServingOptions>().Bind(builder.Configuration.GetSection(ServingOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ServingOptions>, ServingOptionsAttributesValidator>();
        var options = builder.Configuration.GetSection(ServingOptions.Section).Get<ServingOptions>() ?? new ServingOptions();
        if (!options.Enabled)
        {
            return builder;
        }

        services.AddSingleton<ServingCertificate>();
        services.AddHealthChecks().AddCheck<ServingCertificateHealthCheck>("serving-certificate", tags: [ReadyTag]);
        if (services.KubernetesAvailableFor(builder.Configuration, "serving certificate"))
        {
            services.AddSidecarsKubernetes(builder.Configuration);
            services.TryAddSingleton(TimeProvider.System);
            services.AddHostedService(sp =>
            {
                var value = sp.GetRequiredService<IOptions<ServingOptions>>().Value;
                var time = sp.GetRequiredService<TimeProvider>();
                var secret = new TlsSecretRotation(sp.GetRequiredService<KubernetesConnection>(), value.Namespace, value.SecretName, TlsSecretLayout.ClusterAgent, value, time);
                return new ServingCertificateRotator(
                    secret, sp.GetRequiredService<ServingCertificate>(), value.CheckInterval, time, sp.GetRequiredService<ILogger<ServingCertificateRotator>>());
            });
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            var address = IPAddress.Parse(options.Address);
            kestrel.Listen(address, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(https =>
                {
                    var serving = kestrel.ApplicationServices.GetRequiredService<ServingCertificate>();
                    https.ServerCertificateSelector = (_, _) => serving.Current;
                });
            });
            kestrel.Listen(address, options.MetricsPort, listen => listen.Protocols = HttpProtocols.Http1);
        });
        return builder;
    }
}

/// <summary>Ready once a serving certificate is in use.</summary>
internal sealed class ServingCertificateHealthCheck(ServingCertificate serving) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(serving.Current is not null
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("no serving certificate yet"));
}
