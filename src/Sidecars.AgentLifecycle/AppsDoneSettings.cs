using Sidecars.Conventions;

namespace Sidecars.AgentLifecycle;

/// <summary>
/// Where the agent finds its own pod and the Kubernetes API: the in-cluster settings a kubelet provides
/// (KUBERNETES_SERVICE_HOST/PORT and the mounted service account token and CA), with overrides from the environment.
/// </summary>
public sealed record AppsDoneSettings
{
    public const string DefaultServiceAccountDirectory = SidecarsNames.ServiceAccountDirectory;

    /// <summary>The injected container names that are not apps (the webhook's sidecar names).</summary>
    public static readonly IReadOnlyList<string> DefaultSidecars = [SidecarsNames.PodAgentContainer, SidecarsNames.LightpeerContainer];

    public required Uri ApiServer { get; init; }

    public required string Namespace { get; init; }

    public required string PodName { get; init; }

    /// <summary>File holding the bearer token; re-read on every request, since projected tokens rotate.</summary>
    public required string TokenFile { get; init; }

    /// <summary>PEM bundle the apiserver's certificate chains to; null trusts the system roots.</summary>
    public string? CaFile { get; init; }

    public required IReadOnlySet<string> Sidecars { get; init; }

    /// <summary>Bound on one watch request before it is renewed.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Reads POD_NAME and POD_NAMESPACE (downward API), SIDECARS_API_SERVER or KUBERNETES_SERVICE_HOST/PORT,
    /// SIDECARS_SERVICE_ACCOUNT_DIR (token, ca.crt, namespace) and SIDECARS_SIDECAR_CONTAINERS (comma list).
    /// </summary>
    /// <exception cref="FormatException">A setting is missing or invalid; the message says which and how to fix it.</exception>
    public static AppsDoneSettings FromEnvironment(Func<string, string?> environment, string? podName = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        string? Get(string name) => environment(name) is { Length: > 0 } value ? value.Trim() : null;

        var directory = Get(SidecarsNames.ServiceAccountDirectoryEnv) ?? DefaultServiceAccountDirectory;
        var tokenFile = Path.Combine(directory, "token");
        if (!File.Exists(tokenFile))
        {
            throw new FormatException(
                $"--exit-when-apps-done needs the pod's service account token at {tokenFile} (automountServiceAccountToken must not be false; " +
                "set SIDECARS_SERVICE_ACCOUNT_DIR if it is mounted elsewhere)");
        }

        var ns = Get(SidecarsNames.PodNamespaceEnv) ?? ReadOptional(Path.Combine(directory, "namespace"))
            ?? throw new FormatException("--exit-when-apps-done needs POD_NAMESPACE (downward API metadata.namespace)");
        var pod = podName ?? Get(SidecarsNames.PodNameEnv) ?? throw new FormatException("--exit-when-apps-done needs POD_NAME (downward API metadata.name)");

        var caFile = Path.Combine(directory, "ca.crt");
        return new AppsDoneSettings
        {
            ApiServer = ApiServerFrom(Get),
            Namespace = ns,
            PodName = pod,
            TokenFile = tokenFile,
            CaFile = File.Exists(caFile) ? caFile : null,
            Sidecars = new HashSet<string>(
                Get("SIDECARS_SIDECAR_CONTAINERS")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? DefaultSidecars,
                StringComparer.Ordinal),
        };
    }

    private static Uri ApiServerFrom(Func<string, string?> get)
    {
        if (get("SIDECARS_API_SERVER") is { } explicitUrl)
        {
            if (!Uri.TryCreate(explicitUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")
                || (uri.Scheme == "http" && !uri.IsLoopback))
            {
                throw new FormatException($"SIDECARS_API_SERVER '{explicitUrl}' must be an https URL (http only on loopback)");
            }

            return uri;
        }

        var host = get("KUBERNETES_SERVICE_HOST");
        var port = get("KUBERNETES_SERVICE_PORT") ?? "443";
        if (host is null)
        {
            throw new FormatException("--exit-when-apps-done needs KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT (set by the kubelet) or SIDECARS_API_SERVER");
        }

        var authority = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
        return Uri.TryCreate("https://" + authority, UriKind.Absolute, out var inCluster)
            ? inCluster
            : throw new FormatException($"KUBERNETES_SERVICE_HOST/PORT '{authority}' do not form a URL");
    }

    private static string? ReadOptional(string path) =>
        File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } text ? text : null;
}
