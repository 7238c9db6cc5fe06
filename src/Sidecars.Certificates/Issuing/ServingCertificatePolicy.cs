namespace Sidecars.Certificates.Issuing;

/// <summary>What a self-issued CA and its serving certificates look like and when they are replaced.</summary>
public class ServingCertificatePolicy
{
    /// <summary>Common name of the CA.</summary>
    public string AuthorityName { get; set; } = "sidecars-ca";

    public TimeSpan ServingLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>A serving certificate with less than this left is replaced.</summary>
    public TimeSpan ServingRenewBefore { get; set; } = TimeSpan.FromHours(8);

    public TimeSpan AuthorityLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>A CA with less than this left is replaced; the old one stays in the bundle until it expires.</summary>
    public TimeSpan AuthorityRenewBefore { get; set; } = TimeSpan.FromDays(2);

    /// <summary>Names the serving certificate is valid for (the Service's DNS names).</summary>
    public string[] DnsNames { get; set; } = [];

    /// <summary>IP addresses the serving certificate is valid for.</summary>
    public string[] IpAddresses { get; set; } = [];

    /// <summary>
    /// The serving certificate may also authenticate its holder as a TLS client (extended key usage clientAuth beside
    /// serverAuth), for a server that calls others under the same names.
    /// </summary>
    public bool ClientAuthentication { get; set; }

    /// <summary>
    /// Whether a new CA replaces the serving certificate at once (the default). Off, the certificate stays until it is
    /// due as long as a CA of the bundle issued it: for peers that learn a new bundle later than a changed certificate
    /// would reach them (Secret volumes synced by the kubelet), which would otherwise refuse the new certificate meanwhile.
    /// </summary>
    public bool ReissueWithAuthority { get; set; } = true;
}
