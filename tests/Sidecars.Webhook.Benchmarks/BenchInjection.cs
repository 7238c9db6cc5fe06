using Microsoft.Extensions.Configuration;
using Sidecars.Mutation;

namespace Sidecars.Webhook.Benchmarks;

/// <summary>The injection settings every benchmark step gives the webhook, whichever way it is hosted.</summary>
internal static class BenchInjection
{
    public static readonly IReadOnlyDictionary<string, string?> Settings = new Dictionary<string, string?>
    {
        ["Sidecars:Injection:Registry"] = "registry.bench/team",
        ["Sidecars:Injection:ImagePullSecret"] = "regcred",
        ["Sidecars:Injection:ClusterAgentAddress"] = "http://127.0.0.1:1",
    };

    /// <summary>The settings as command-line arguments of the webhook host.</summary>
    public static IEnumerable<string> Arguments => Settings.Select(s => $"--{s.Key}={s.Value}");

    /// <summary>The settings bound as the webhook host binds them.</summary>
    public static InjectionOptions Options() =>
        new ConfigurationBuilder().AddInMemoryCollection(Settings).Build().GetSection(InjectionOptions.Section).Get<InjectionOptions>()!;
}
