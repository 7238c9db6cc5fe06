namespace Sidecars.Mutation;

/// <summary>Everything the engine derives from <see cref="InjectionOptions"/> once, not per request.</summary>
internal sealed class EngineSettings
{
    private static readonly string[] AlwaysExcluded = ["kube-system", "kube-public"];

    public EngineSettings(InjectionOptions options)
    {
        Options = options;
        Registry = options.Registry.TrimEnd('/');
        AgentImage = ImageReferences.Rewrite(options.AgentImage, Registry) ?? options.AgentImage;
        ExcludedNamespaces = new HashSet<string>(options.ExcludedNamespaces.Concat(AlwaysExcluded), StringComparer.Ordinal);
        TrustedControllers = new HashSet<string>(options.TrustedControllers, StringComparer.Ordinal);
        TrustedDelegates = new HashSet<string>(options.TrustedDelegates, StringComparer.Ordinal);
        Templates = new SidecarTemplates(options, AgentImage);
    }

    public InjectionOptions Options { get; }

    /// <summary>The configured registry without a trailing '/'; empty when rewriting is off.</summary>
    public string Registry { get; }

    /// <summary>The agent image after the registry rewrite.</summary>
    public string AgentImage { get; }

    public HashSet<string> ExcludedNamespaces { get; }

    public HashSet<string> TrustedControllers { get; }

    public HashSet<string> TrustedDelegates { get; }

    public SidecarTemplates Templates { get; }
}
