namespace Sidecars.Identity.Admin;

/// <summary>Authorization names shared by every service with admin-only calls.</summary>
public static class IdentityPolicies
{
    /// <summary>Policy for admin-only calls: <c>[Authorize(Policy = IdentityPolicies.Admin)]</c>.</summary>
    public const string Admin = "sidecars-admin";

    /// <summary>The authentication scheme behind <see cref="Admin"/> (admin client certificate or reviewed token).</summary>
    public const string AdminScheme = "SidecarsAdmin";
}
