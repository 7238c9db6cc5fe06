using k8s;
using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>
/// The serviceAccountToken sources of one pod's projected volumes, as a kubelet serves them: each token is requested
/// through the API (TokenRequest) for the pod's service account, bound to the pod, with the source's audience and
/// expiry, written into the volume, and requested again once 80 % of its lifetime has passed.
/// </summary>
internal sealed class ProjectedTokens(IKubernetes client, V1Pod pod)
{
    private const double RefreshAt = 0.8;
    private readonly List<Token> _tokens = [];

    /// <summary>When the earliest token is due for renewal; null when the pod has none.</summary>
    public DateTimeOffset? NextRefresh => _tokens.Count == 0 ? null : _tokens.Min(t => t.RefreshAt);

    public async Task AddAsync(string file, V1ServiceAccountTokenProjection projection, CancellationToken ct)
    {
        var token = new Token(file, projection);
        await WriteAsync(token, ct);
        _tokens.Add(token);
    }

    /// <summary>Requests again every token due at <paramref name="now"/>.</summary>
    public async Task RefreshDueAsync(DateTimeOffset now, CancellationToken ct)
    {
        foreach (var token in _tokens.Where(t => t.RefreshAt <= now))
        {
            await WriteAsync(token, ct);
        }
    }

    /// <summary>When a token issued at <paramref name="issued"/> and expiring at <paramref name="expires"/> is renewed.</summary>
    public static DateTimeOffset RefreshTime(DateTimeOffset issued, DateTimeOffset expires) =>
        issued + ((expires - issued) * RefreshAt);

    private async Task WriteAsync(Token token, CancellationToken ct)
    {
        var spec = new V1TokenRequestSpec
        {
            // Empty means the apiserver's own audiences, as for a kubelet.
            Audiences = string.IsNullOrEmpty(token.Projection.Audience) ? [] : [token.Projection.Audience],
            ExpirationSeconds = token.Projection.ExpirationSeconds ?? 3600,
            BoundObjectRef = new V1BoundObjectReference { ApiVersion = "v1", Kind = "Pod", Name = pod.Metadata.Name, Uid = pod.Metadata.Uid },
        };
        var issued = DateTimeOffset.UtcNow;
        var response = await client.CoreV1.CreateNamespacedServiceAccountTokenAsync(
            new Authenticationv1TokenRequest { Spec = spec }, pod.Spec.ServiceAccountName ?? "default", pod.Metadata.NamespaceProperty, cancellationToken: ct);
        var status = response.Status ?? throw new PodSetupException($"TokenRequest for pod {pod.Metadata.Name} returned no token");

        // Readers see the old token or the new one, never a partial file.
        Directory.CreateDirectory(Path.GetDirectoryName(token.File)!);
        var temporary = token.File + ".tmp";
        await File.WriteAllTextAsync(temporary, status.Token, ct);
        File.Move(temporary, token.File, overwrite: true);
        var expires = status.ExpirationTimestamp is { } at
            ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc))
            : issued.AddSeconds(spec.ExpirationSeconds.Value);
        token.RefreshAt = RefreshTime(issued, expires);
    }

    private sealed class Token(string file, V1ServiceAccountTokenProjection projection)
    {
        public string File { get; } = file;

        public V1ServiceAccountTokenProjection Projection { get; } = projection;

        public DateTimeOffset RefreshAt { get; set; }
    }
}
