namespace Sidecars.Identity.Admin;

/// <summary>Asks the cluster who a bearer token belongs to.</summary>
public interface ITokenReviewer
{
    /// <summary>The authenticated username, or null when the cluster does not accept the token.</summary>
    Task<string?> ReviewAsync(string token, CancellationToken cancellationToken);
}
