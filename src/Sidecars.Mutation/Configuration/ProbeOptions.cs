using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Sidecars.Mutation;

/// <summary>Timings of the sidecars' readiness (and optional liveness) probes.</summary>
public sealed class ProbeOptions
{
    [Range(0, 3600)]
    public int InitialDelaySeconds { get; set; }

    [Range(1, 3600)]
    public int PeriodSeconds { get; set; } = 2;

    [Range(1, 3600)]
    public int TimeoutSeconds { get; set; } = 1;

    [Range(1, 1000)]
    public int FailureThreshold { get; set; } = 3;

    /// <summary>Native mode: how many one-second startup probes the agent gets before the kubelet restarts it.</summary>
    [Range(1, 3600)]
    public int StartupFailureThreshold { get; set; } = 120;

    /// <summary>Also add a liveness probe on <c>/healthz</c>.</summary>
    public bool Liveness { get; set; } = true;

    [Range(1, 3600)]
    public int LivenessPeriodSeconds { get; set; } = 10;

    [Range(1, 1000)]
    public int LivenessFailureThreshold { get; set; } = 6;
}

/// <summary>The attribute checks of <see cref="ProbeOptions"/>, generated at build time (no reflection).</summary>
[OptionsValidator]
internal sealed partial class ProbeOptionsAttributesValidator : IValidateOptions<ProbeOptions>;
