using System.Security.Cryptography.X509Certificates;
using Sidecars.Certificates.Issuing;
using Sidecars.Lightpeer;

namespace Sidecars.Networks.Identity;

/// <summary>
/// The network CA material of this cluster agent (from the Secret <see cref="Conventions.SidecarsNames.LightpeerCaSecret"/>):
/// the network controller presents its certificate to lightpeers and trusts the bundle; the identity controller issues
/// the namespaces' peer certificates from the CA. Swapped in place by <see cref="NetworkIdentityController"/>.
/// </summary>
public sealed class NetworkCredentials : PeerTls
{
    private readonly Lock _lock = new();
    private TlsMaterial? _network;
    private PeerTlsMaterial? _current;

    public override PeerTlsMaterial? Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>The CA pair, the controller's pair and the bundle in force; null until first read.</summary>
    public TlsMaterial? Network
    {
        get
        {
            lock (_lock)
            {
                return _network;
            }
        }
    }

    /// <summary>Uses <paramref name="material"/> from now on; false when it is what is in use already.</summary>
    public bool Use(TlsMaterial material)
    {
        ArgumentNullException.ThrowIfNull(material);
        if (material.Authority is null || material.Serving is null || string.IsNullOrWhiteSpace(material.Bundle))
        {
            throw new ArgumentException("the network CA material needs the CA, the controller's certificate and the bundle", nameof(material));
        }

        lock (_lock)
        {
            if (_network is not null && _network.SameAs(material))
            {
                return false;
            }

            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPem(material.Bundle);
            // The previous certificate is left to the collector: a handshake in flight may still hold it.
            _current = new PeerTlsMaterial(material.Serving.Load(), authorities);
            _network = material;
            return true;
        }
    }
}
