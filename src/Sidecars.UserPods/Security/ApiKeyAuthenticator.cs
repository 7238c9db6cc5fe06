using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Sidecars.UserPods.Configuration;

namespace Sidecars.UserPods.Security;

/// <summary>
/// Maps the bearer key of a request (<c>authorization: Bearer &lt;key&gt;</c>) to a configured caller. Keys are
/// kept only as SHA-256 digests and compared in constant time.
/// </summary>
public sealed class ApiKeyAuthenticator
{
    private readonly (byte[] Digest, Caller Caller)[] _callers;

    public ApiKeyAuthenticator(IOptions<UserPodsOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _callers = [.. options.Value.Callers.Select(c => (Digest(c.Key), new Caller(c.UserId, c.Operator)))];
    }

    /// <summary>The caller for an <c>authorization</c> header value; null when missing or unknown.</summary>
    public Caller? Authenticate(string? authorization)
    {
        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var digest = Digest(authorization[scheme.Length..].Trim());
        Caller? found = null;
        foreach (var (candidate, caller) in _callers)
        {
            if (CryptographicOperations.FixedTimeEquals(candidate, digest))
            {
                found = caller;
            }
        }

        return found;
    }

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
