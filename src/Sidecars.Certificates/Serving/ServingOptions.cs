using System.ComponentModel.DataAnnotations;
using Sidecars.Certificates.Issuing;
using Sidecars.Conventions;
using Microsoft.Extensions.Options;

namespace Sidecars.Certificates.Serving;

/// <summary>
/// Configuration section <c>Sidecars:Serving</c> of the cluster agent: gRPC over HTTPS with a serving certificate it
/// issues for itself into <see cref="SecretName"/>, and a plain port for probes and metrics.
/// </summary>
public sealed class ServingOptions : ServingCertificatePolicy
{
    public const string Section = "Sidecars:Serving";

    public ServingOptions()
    {
        AuthorityName = "sidecars-cluster-agent-ca";
        DnsNames = ["sidecars-cluster-agent", "sidecars-cluster-agent.sidecars-system", "sidecars-cluster-agent.sidecars-system.svc"];
        // The same certificate is the token reader's client certificate (SidecarsNames.TokenReaderName) towards pod-agents.
        ClientAuthentication = true;
    }

    /// <summary>Off, the host's own Kestrel configuration (<c>Kestrel:Endpoints</c>, <c>--urls</c>) decides the endpoints.</summary>
    public bool Enabled { get; set; } = true;

    [Required]
    public string Address { get; set; } = "0.0.0.0";

    /// <summary>HTTPS port of the gRPC services.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = SidecarsNames.ClusterAgentPort;

    /// <summary>Plain HTTP port of /healthz, /readyz and /metrics.</summary>
    [Range(1, 65535)]
    public int MetricsPort { get; set; } = SidecarsNames.ClusterAgentMetricsPort;

    /// <summary>Namespace of <see cref="SecretName"/> (the cluster agent's own).</summary>
    [Required]
    public string Namespace { get; set; } = "sidecars-system";

    [Required]
    public string SecretName { get; set; } = SidecarsNames.ClusterAgentTlsSecret;

    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>The attribute checks of <see cref="ServingOptions"/>, generated at build time (no reflection).</summary>
[OptionsValidator]
internal sealed partial class ServingOptionsAttributesValidator : IValidateOptions<ServingOptions>;
