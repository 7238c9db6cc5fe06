using System.Security.Cryptography.X509Certificates;
using Sidecars.Certificates.Issuing;

namespace Sidecars.Certificates.Serving;

/// <summary>The serving certificate in use, swapped in place when the Secret's pair changes.</summary>
public sealed class ServingCertificate : IDisposable
{
    private readonly Lock _gate = new();
    private PemPair? _pair;
    private X509Certificate2? _current;

    public X509Certificate2? Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Uses <paramref name="pair"/> from now on; returns whether it differs from the one in use.</summary>
    public bool Use(PemPair pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        lock (_gate)
        {
            if (pair == _pair)
            {
                return false;
            }

            // The previous certificate is left to the collector: a handshake in flight may still hold it.
            _current = pair.Load();
            _pair = pair;
            return true;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _current?.Dispose();
            _current = null;
        }
    }
}
