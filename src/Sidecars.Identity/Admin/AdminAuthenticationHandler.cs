using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Identity.Blessings;

namespace Sidecars.Identity.Admin;

/// <summary>
/// Authenticates admins by (a) a TLS client certificate chaining to the configured admin CA, or (b) a bearer
/// token the cluster's TokenReview accepts for a configured username.
/// </summary>
internal sealed class AdminAuthenticationHandler : AuthenticationHandler<AuthenticationSchemeOptions>
{
    private readonly IOptions<IdentityOptions> _identity;
    private readonly AdminCertificateAuthorities _authorities;

    public AdminAuthenticationHandler(
        IOptionsMonitor<AuthenticationSchemeOptions> options,
        ILoggerFactory logger,
        UrlEncoder encoder,
        IOptions<IdentityOptions> identity,
        AdminCertificateAuthorities authorities)
        : base(options, logger, encoder)
    {
        _identity = identity;
        _authorities = authorities;
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Context.Connection.ClientCertificate is { } certificate)
        {
            return AuthenticateCertificate(certificate);
        }

        var header = Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && _identity.Value.TokenReview)
        {
            var reviewer = Context.RequestServices.GetService<ITokenReviewer>();
            if (reviewer is null)
            {
                return AuthenticateResult.Fail("token review is not available");
            }

            var user = await reviewer.ReviewAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted);
            if (user is null)
            {
                return AuthenticateResult.Fail("the cluster did not accept the bearer token");
            }

            if (!_identity.Value.AdminUsers.Contains(user, StringComparer.Ordinal))
            {
                return AuthenticateResult.Fail($"user '{user}' is not a Sidecars admin");
            }

            return Success(user, "token-review");
        }

        return AuthenticateResult.NoResult();
    }

    private AuthenticateResult AuthenticateCertificate(X509Certificate2 certificate)
    {
        if (_authorities.Certificates.Count == 0)
        {
            return AuthenticateResult.Fail("no admin client CA is configured");
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_authorities.Certificates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(BlessingCertificates.ClientAuthOid));
        if (!chain.Build(certificate))
        {
            return AuthenticateResult.Fail("the client certificate is not issued by the admin CA");
        }

        return Success(certificate.GetNameInfo(X509NameType.SimpleName, false), "client-certificate");
    }

    private AuthenticateResult Success(string user, string method)
    {
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, user), new Claim("sidecars:admin-method", method)], IdentityPolicies.AdminScheme);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }
}

/// <summary>The admin CA certificates, loaded once from <see cref="IdentityOptions.AdminClientCaFile"/>.</summary>
internal sealed class AdminCertificateAuthorities
{
    public AdminCertificateAuthorities(IOptions<IdentityOptions> options)
    {
        if (!string.IsNullOrEmpty(options.Value.AdminClientCaFile))
        {
            Certificates.ImportFromPemFile(options.Value.AdminClientCaFile);
        }
    }

    public X509Certificate2Collection Certificates { get; } = [];
}
