using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sidecars.Cli.Check;

/// <summary>
/// Checks one webhook endpoint (a URL or a Service) against its caBundle: the certificate it presents verifies with
/// the bundle for the name the apiserver calls, is in date, and <c>/readyz</c> answers. A URL, or a Service when the
/// CLI runs inside the cluster, is called directly; otherwise readiness goes through the apiserver's service proxy and
/// the certificate is read from the webhook's TLS Secret.
/// </summary>
internal sealed class WebhookProbe(IKubernetes client, string tlsSecret, TimeSpan renewBefore, TimeProvider time)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public async Task<IReadOnlyList<CheckLine>> CheckAsync(
        string subject, Admissionregistrationv1WebhookClientConfig config, CancellationToken cancellationToken)
    {
        if (config.CaBundle is not { Length: > 0 })
        {
            return [CheckLine.Fail(subject + " caBundle", "empty: the apiserver cannot trust the webhook",
                "the webhook's rotator fills it (Sidecars:Webhook:Rotation:Enabled) or run certs/make-certs.sh --apply")];
        }

        X509Certificate2Collection bundle = [];
        try
        {
            bundle.ImportFromPem(Encoding.UTF8.GetString(config.CaBundle));
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            return [CheckLine.Fail(subject + " caBundle", "not PEM certificates: " + e.Message, "re-run certs/make-certs.sh --apply")];
        }

        if (bundle.Count == 0)
        {
            return [CheckLine.Fail(subject + " caBundle", "holds no certificate", "re-run certs/make-certs.sh --apply")];
        }

        if (config.Url is { Length: > 0 } url)
        {
            return await DirectAsync(subject, new Uri(url), bundle, cancellationToken);
        }

        var service = config.Service;
        var port = service.Port ?? 443;
        if (Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST") is { Length: > 0 })
        {
            return await DirectAsync(subject, new Uri($"https://{service.Name}.{service.NamespaceProperty}.svc:{port}{service.Path}"), bundle, cancellationToken);
        }

        var host = $"{service.Name}.{service.NamespaceProperty}.svc";
        var lines = new List<CheckLine>();
        var stored = await StoredCertificateAsync(service.NamespaceProperty, cancellationToken);
        if (stored is null)
        {
            lines.Add(CheckLine.Warn(subject + " caBundle",
                $"could not check: the Service is not reachable from outside the cluster and Secret {service.NamespaceProperty}/{tlsSecret} cannot be read",
                "run sidecarsctl check inside the cluster, or with rights to read that Secret"));
        }
        else
        {
            lines.AddRange(Judge(subject, stored.Leaf, stored.Chain, bundle, host, $"certificate in Secret {service.NamespaceProperty}/{tlsSecret}"));
        }

        lines.Add(await ThroughProxyAsync(subject, service, port, cancellationToken));
        return lines;
    }

    private async Task<IReadOnlyList<CheckLine>> DirectAsync(string subject, Uri url, X509Certificate2Collection bundle, CancellationToken cancellationToken)
    {
        X509Certificate2? presented = null;
        X509Certificate2Collection chain = [];
        var host = url.IdnHost;
        using var handler = new SocketsHttpHandler
        {
            ConnectTimeout = Timeout,
            SslOptions = new SslClientAuthenticationOptions
            {
                // Trust exactly what the apiserver trusts: the caBundle, for the name it calls.
                RemoteCertificateValidationCallback = (_, certificate, certificateChain, _) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    foreach (var element in certificateChain?.ChainElements.AsEnumerable() ?? [])
                    {
                        chain.Add(X509CertificateLoader.LoadCertificate(element.Certificate.RawData));
                    }

                    return Verify(presented, chain, bundle, host, time.GetUtcNow()) is null;
                },
            },
        };
        using var http = new HttpClient(handler) { Timeout = Timeout };
        var readyz = new UriBuilder(url) { Path = "/readyz", Query = string.Empty }.Uri;
        HttpResponseMessage? response = null;
        string? failure = null;
        try
        {
            response = await http.GetAsync(readyz, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            failure = e.Message;
        }

        using (response)
        {
            var lines = new List<CheckLine>();
            var authority = url.GetLeftPart(UriPartial.Authority);
            if (presented is null)
            {
                lines.Add(CheckLine.Fail(subject + " reachable", $"{authority} does not answer: {failure}",
                    "is the webhook running and listening where the configuration points?"));
                return lines;
            }

            lines.AddRange(Judge(subject, presented, chain, bundle, host, $"certificate presented at {authority}"));
            lines.Add(response is null
                ? CheckLine.Fail(subject + " ready", $"{readyz} could not be asked: {failure}", "the apiserver cannot call it either while the caBundle does not verify")
                : response.StatusCode == HttpStatusCode.OK
                    ? CheckLine.Ok(subject + " ready", $"{readyz} answers 200")
                    : CheckLine.Fail(subject + " ready", $"{readyz} answers {(int)response.StatusCode}", "the webhook is not ready: read its log"));
            return lines;
        }
    }

    /// <summary>Null when <paramref name="bundle"/> verifies <paramref name="leaf"/> for <paramref name="host"/> (dates aside), else why not.</summary>
    private static string? Verify(X509Certificate2 leaf, X509Certificate2Collection presented, X509Certificate2Collection bundle, string host, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(bundle);
        chain.ChainPolicy.ExtraStore.AddRange(presented);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        // Dates have a line of their own.
        var verified = chain.Build(leaf) || chain.ChainStatus.All(s => s.Status is X509ChainStatusFlags.NotTimeValid or X509ChainStatusFlags.NoError);
        if (!verified)
        {
            return string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        }

        return leaf.MatchesHostname(host) ? null : $"the certificate does not name {host}";
    }

    private IEnumerable<CheckLine> Judge(
        string subject, X509Certificate2 leaf, X509Certificate2Collection presented, X509Certificate2Collection bundle, string host, string what)
    {
        var refused = Verify(leaf, presented, bundle, host, time.GetUtcNow());
        yield return refused is null
            ? CheckLine.Ok(subject + " caBundle", $"verifies the {what} for {host}")
            : CheckLine.Fail(subject + " caBundle", $"does not verify the {what}: {refused}",
                "the caBundle and the serving certificate do not match: let the rotator republish it or re-run certs/make-certs.sh --apply");

        var now = time.GetUtcNow();
        var left = new DateTimeOffset(leaf.NotAfter.ToUniversalTime()) - now;
        var expires = $"{leaf.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC";
        if (left <= TimeSpan.Zero || new DateTimeOffset(leaf.NotBefore.ToUniversalTime()) > now)
        {
            yield return CheckLine.Fail(subject + " certificate", $"not valid now (valid {leaf.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm} to {expires} UTC)",
                "the apiserver refuses it: renew it (the rotator, or certs/make-certs.sh --apply) and let the webhook reload it");
        }
        else if (left < renewBefore)
        {
            yield return CheckLine.Warn(subject + " certificate", $"expires in {Describe(left)} ({expires})", "the rotator should have renewed it by now: read its log");
        }
        else
        {
            yield return CheckLine.Ok(subject + " certificate", $"expires in {Describe(left)} ({expires})");
        }
    }

    private async Task<CheckLine> ThroughProxyAsync(string subject, Admissionregistrationv1ServiceReference service, int port, CancellationToken cancellationToken)
    {
        var target = $"https:{service.Name}:{port}";
        try
        {
            using var response = await client.CoreV1.ConnectGetNamespacedServiceProxyWithPathWithHttpMessagesAsync(
                target, service.NamespaceProperty, "readyz", cancellationToken: cancellationToken);
            return CheckLine.Ok(subject + " ready", $"service {service.NamespaceProperty}/{service.Name}:{port} answers /readyz (through the apiserver's service proxy)");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            return CheckLine.Warn(subject + " ready", "could not check: services/proxy is forbidden to you", "run check with rights to proxy to Services, or inside the cluster");
        }
        catch (HttpOperationException e)
        {
            return CheckLine.Fail(subject + " ready", $"service {service.NamespaceProperty}/{service.Name}:{port} does not answer /readyz through the apiserver ({(int)e.Response.StatusCode}: {Trim(e.Response.Content)})",
                $"kubectl -n {service.NamespaceProperty} get endpoints {service.Name}; are the webhook's pods Ready?");
        }
    }

    private sealed record StoredCertificate(X509Certificate2 Leaf, X509Certificate2Collection Chain);

    private async Task<StoredCertificate?> StoredCertificateAsync(string @namespace, CancellationToken cancellationToken)
    {
        try
        {
            var secret = await client.CoreV1.ReadNamespacedSecretAsync(tlsSecret, @namespace, cancellationToken: cancellationToken);
            if (secret.Data?.TryGetValue("tls.crt", out var pem) != true || pem is null)
            {
                return null;
            }

            X509Certificate2Collection chain = [];
            chain.ImportFromPem(Encoding.UTF8.GetString(pem));
            return chain.Count == 0 ? null : new StoredCertificate(chain[0], chain);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    internal static string Describe(TimeSpan span) =>
        span.TotalDays >= 2 ? $"{(int)span.TotalDays} days" : span.TotalHours >= 2 ? $"{(int)span.TotalHours} hours" : $"{Math.Max(0, (int)span.TotalMinutes)} minutes";

    private static string Trim(string? text) => text is null ? string.Empty : text.Length > 120 ? text[..120] + "…" : text.Trim();
}
