using k8s;
using k8s.Models;

namespace Sidecars.Identity.Admin;

/// <summary>Reviews tokens with the Kubernetes TokenReview API.</summary>
internal sealed class KubernetesTokenReviewer(IKubernetes client) : ITokenReviewer
{
    public async Task<string?> ReviewAsync(string token, CancellationToken cancellationToken)
    {
        var review = await client.AuthenticationV1.CreateTokenReviewAsync(
            new V1TokenReview { Spec = new V1TokenReviewSpec { Token = token } }, cancellationToken: cancellationToken);
        return review.Status?.Authenticated == true ? review.Status.User?.Username : null;
    }
}
