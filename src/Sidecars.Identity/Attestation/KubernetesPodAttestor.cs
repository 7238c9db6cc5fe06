using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;
using Sidecars.Identity.Service;

namespace Sidecars.Identity.Attestation;

/// <summary>
/// Reviews a pod token with TokenReview for the cluster agent's audience, takes the pod it is bound to from the
/// review's extra fields, and reads that pod to confirm it still exists under the same UID.
/// </summary>
internal sealed class KubernetesPodAttestor(IKubernetes client, IOptions<IdentityOptions> options) : IPodAttestor
{
    public const string PodNameExtra = "authentication.kubernetes.io/pod-name";
    public const string PodUidExtra = "authentication.kubernetes.io/pod-uid";
    private const string ServiceAccountPrefix = "system:serviceaccount:";

    public async Task<AttestedPod> AttestAsync(string token, CancellationToken cancellationToken)
    {
        var audience = options.Value.PodTokenAudience;
        var review = await client.AuthenticationV1.CreateTokenReviewAsync(
            new V1TokenReview { Spec = new V1TokenReviewSpec { Token = token, Audiences = [audience] } }, cancellationToken: cancellationToken);
        var status = review.Status;
        if (status?.Authenticated != true)
        {
            throw Rejected($"the cluster did not accept the pod token for audience '{audience}'" + (string.IsNullOrEmpty(status?.Error) ? "" : ": " + status.Error));
        }

        if (status.Audiences is not { } audiences || !audiences.Contains(audience, StringComparer.Ordinal))
        {
            throw Rejected($"the pod token is not valid for audience '{audience}'");
        }

        var user = status.User;
        var username = user?.Username ?? "";
        var accountParts = username.StartsWith(ServiceAccountPrefix, StringComparison.Ordinal) ? username[ServiceAccountPrefix.Length..].Split(':') : [];
        if (accountParts.Length != 2 || Single(user, PodNameExtra) is not { } podName || Single(user, PodUidExtra) is not { } podUid)
        {
            throw Rejected($"the token of '{username}' is not a service-account token bound to a pod (mount a projected serviceAccountToken volume)");
        }

        var ns = accountParts[0];
        V1Pod pod;
        try
        {
            pod = await client.CoreV1.ReadNamespacedPodAsync(podName, ns, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            throw Rejected($"pod {ns}/{podName}, which the pod token is bound to, no longer exists");
        }

        if (!string.Equals(pod.Metadata.Uid, podUid, StringComparison.Ordinal))
        {
            throw Rejected($"pod {ns}/{podName} was replaced since its token was issued");
        }

        string? blessing = null;
        pod.Metadata.Annotations?.TryGetValue(Conventions.SidecarsAnnotations.Blessing, out blessing);
        return new AttestedPod(ns, podName, podUid, blessing);
    }

    private static string? Single(V1UserInfo? user, string key) =>
        user?.Extra is { } extra && extra.TryGetValue(key, out var values) && values is { Count: 1 } && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    private static IdentityException Rejected(string message) => new(IdentityError.Unauthenticated, message);
}
