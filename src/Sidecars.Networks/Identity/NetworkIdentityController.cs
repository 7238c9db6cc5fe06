using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sidecars.Certificates.Issuing;
using Sidecars.Certificates.Rotation;
using Sidecars.Conventions;
using Sidecars.Kubernetes;
using Sidecars.Kubernetes.Controllers;

namespace Sidecars.Networks.Identity;

/// <summary>
/// Gives every lightpeer what it needs to authenticate. The network CA lives in the Secret
/// <see cref="SidecarsNames.LightpeerCaSecret"/> of the cluster agent's namespace, issued and rotated with the shared
/// TLS library (the old CA stays in the bundle until it expires); its leaf is the network controller's certificate
/// (<see cref="SidecarsNames.NetworkControllerName"/>), handed to the controller through <see cref="NetworkCredentials"/>.
/// Every namespace with pods labelled <see cref="SidecarsLabels.NetworkId"/> (injected lightpeer or their own, with or
/// without a blessing) gets the Secret <see cref="SidecarsNames.LightpeerIdentitySecret"/> planned by
/// <see cref="PeerIdentityPlanner"/>. Queue + reconcile: pod events queue their namespace, the check interval queues
/// the CA and every such namespace; a namespace's Secret is read only when its bundle or certificate may be out of
/// date or at the check interval. Writes carry the resourceVersion read, so replicas doing the same race harmlessly.
/// </summary>
public sealed partial class NetworkIdentityController : BackgroundService
{
    /// <summary>Queue key of the network CA (no namespace has an empty name).</summary>
    private const string AuthorityKey = "";

    private const int Workers = 2;

    private static readonly TlsSecretLayout Layout = new(
        "authority.crt", "authority.key", SidecarsNames.LightpeerCertificateKey, SidecarsNames.LightpeerKeyKey, SidecarsNames.LightpeerCaKey);

    private readonly IKubernetes _client;
    private readonly NetworksOptions _options;
    private readonly NetworkCredentials _credentials;
    private readonly TimeProvider _time;
    private readonly ILogger<NetworkIdentityController> _logger;
    private readonly ResourceInformer<V1Pod> _pods;
    private readonly TlsSecretRotation _authority;
    private readonly WorkQueue<string> _queue;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Verified> _verified = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _emptySince = new(StringComparer.Ordinal);

    public NetworkIdentityController(
        IKubernetes client,
        SharedInformerFactory informers,
        IOptions<NetworksOptions> options,
        NetworkCredentials credentials,
        TimeProvider time,
        ILogger<NetworkIdentityController> logger)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _options = options.Value;
        _credentials = credentials;
        _time = time;
        _logger = logger;
        _pods = informers.Pods(_options.Namespace, SidecarsLabels.NetworkId);
        _authority = new TlsSecretRotation(KubernetesConnection.Of(client), _options.CaNamespace, SidecarsNames.LightpeerCaSecret, Layout, Policy, time);
        _queue = new WorkQueue<string>("lightpeer-identities", time);
    }

    /// <summary>
    /// The network CA and its certificates: the controller's names the controller; a new CA does not replace issued
    /// certificates before they are due, so every pod has the new bundle before it meets a certificate of the new CA.
    /// </summary>
    public static ServingCertificatePolicy Policy { get; } = new()
    {
        AuthorityName = "sidecars-lightpeer-ca",
        DnsNames = [SidecarsNames.NetworkControllerName],
        ClientAuthentication = true,
        ReissueWithAuthority = false,
    };

    public override void Dispose()
    {
        _queue.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var pods = _pods.Subscribe(OnPod, replay: true);
        _pods.Start();
        try
        {
            await _pods.WaitForSyncAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        _queue.Add(AuthorityKey);
        await ReconcileLoop.RunAsync(_queue, Workers, ReconcileAsync, _logger, _options.IdentityCheckInterval, () =>
        {
            lock (_lock)
            {
                _verified.Clear();
            }

            QueueAll();
        }, _time, stoppingToken);
    }

    private void OnPod(ResourceEvent<V1Pod> evt)
    {
        if (evt.Item.Metadata?.NamespaceProperty is { Length: > 0 } ns)
        {
            _queue.Add(ns);
        }
    }

    private void QueueAll()
    {
        _queue.Add(AuthorityKey);
        foreach (var ns in LightpeerNamespaces())
        {
            _queue.Add(ns);
        }
    }

    private IEnumerable<string> LightpeerNamespaces() =>
        _pods.Snapshot().Where(p => p.Metadata.DeletionTimestamp is null).Select(p => p.Metadata.NamespaceProperty).Distinct(StringComparer.Ordinal);

    private Task<Reconciled> ReconcileAsync(string key, CancellationToken ct) =>
        key == AuthorityKey ? RotateAuthorityAsync(ct) : ReconcileNamespaceAsync(key, ct);

    private async Task<Reconciled> RotateAuthorityAsync(CancellationToken ct)
    {
        var (material, changed) = await _authority.RotateAsync(null, ct);
        if (changed)
        {
            Log.AuthorityIssued(_logger, _options.CaNamespace, SidecarsNames.LightpeerCaSecret);
        }

        if (_credentials.Use(material))
        {
            // A new bundle (or the first): every namespace's Secret must follow.
            lock (_lock)
            {
                _verified.Clear();
            }

            QueueAll();
        }

        return Reconciled.Done;
    }

    private async Task<Reconciled> ReconcileNamespaceAsync(string @namespace, CancellationToken ct)
    {
        if (_credentials.Network is not { } network)
        {
            // The CA's first pass queues every namespace once it has material.
            return Reconciled.Done;
        }

        var now = _time.GetUtcNow();
        if (!_pods.Snapshot().Any(p => p.Metadata.NamespaceProperty == @namespace && p.Metadata.DeletionTimestamp is null))
        {
            return await RetireAsync(@namespace, now, ct);
        }

        lock (_lock)
        {
            _emptySince.Remove(@namespace);
            if (_verified.TryGetValue(@namespace, out var verified) && verified.Bundle == network.Bundle && now < verified.RenewAt)
            {
                return Reconciled.Done;
            }
        }

        var existing = await ReadAsync(@namespace, ct);
        var plan = PeerIdentityPlanner.Plan(existing?.Data, network, @namespace, now, Policy);
        if (plan.Data is { } data)
        {
            await StoreAsync(@namespace, existing, data, ct);
            Log.Stored(_logger, @namespace, SidecarsNames.LightpeerIdentitySecret, existing is null ? "created" : "updated");
        }

        lock (_lock)
        {
            _verified[@namespace] = new Verified(network.Bundle, plan.RenewAt);
        }

        return Reconciled.After(plan.RenewAt - now);
    }

    /// <summary>
    /// A namespace without lightpeer pods keeps its Secret for <see cref="NetworksOptions.IdentityRetention"/>, then loses
    /// it: a peer certificate nobody mounts is a key left lying around. Only a Secret Sidecars made is deleted.
    /// </summary>
    private async Task<Reconciled> RetireAsync(string @namespace, DateTimeOffset now, CancellationToken ct)
    {
        lock (_lock)
        {
            _verified.Remove(@namespace);
            if (!_emptySince.TryGetValue(@namespace, out var since))
            {
                _emptySince[@namespace] = now;
                return Reconciled.After(_options.IdentityRetention);
            }

            if (now - since < _options.IdentityRetention)
            {
                return Reconciled.After(_options.IdentityRetention - (now - since));
            }

            _emptySince.Remove(@namespace);
        }

        var existing = await ReadAsync(@namespace, ct);
        if (existing?.Metadata.Labels?.TryGetValue(SidecarsLabels.ManagedBy, out var manager) != true || manager != SidecarsLabels.ManagedByValue)
        {
            return Reconciled.Done;
        }

        try
        {
            await _client.CoreV1.DeleteNamespacedSecretAsync(
                SidecarsNames.LightpeerIdentitySecret, @namespace,
                new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = existing.Metadata.Uid } }, cancellationToken: ct);
            Log.Deleted(_logger, @namespace, SidecarsNames.LightpeerIdentitySecret, _options.IdentityRetention.TotalSeconds);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // Gone already, or replaced by a replica that saw a new pod: either way not ours to delete now.
        }

        return Reconciled.Done;
    }

    private async Task<V1Secret?> ReadAsync(string @namespace, CancellationToken ct)
    {
        try
        {
            return await _client.CoreV1.ReadNamespacedSecretAsync(SidecarsNames.LightpeerIdentitySecret, @namespace, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task StoreAsync(string @namespace, V1Secret? existing, Dictionary<string, byte[]> data, CancellationToken ct)
    {
        var secret = existing ?? new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = SidecarsNames.LightpeerIdentitySecret,
                NamespaceProperty = @namespace,
                Labels = new Dictionary<string, string> { [SidecarsLabels.ManagedBy] = SidecarsLabels.ManagedByValue },
            },
            Type = "kubernetes.io/tls",
        };
        secret.Data = data;
        if (existing is null)
        {
            await _client.CoreV1.CreateNamespacedSecretAsync(secret, @namespace, cancellationToken: ct);
        }
        else
        {
            await _client.CoreV1.ReplaceNamespacedSecretAsync(secret, SidecarsNames.LightpeerIdentitySecret, @namespace, cancellationToken: ct);
        }
    }

    /// <summary>A namespace's Secret was found right for this bundle; looked at again once its certificate is due or at the check interval.</summary>
    private sealed record Verified(string Bundle, DateTimeOffset RenewAt);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Issued new network CA material into Secret {Namespace}/{Secret}")]
        public static partial void AuthorityIssued(ILogger logger, string @namespace, string secret);

        [LoggerMessage(2, LogLevel.Information, "Secret {Namespace}/{Secret} {Change}: the network CA bundle and the namespace's peer certificate")]
        public static partial void Stored(ILogger logger, string @namespace, string secret, string change);

        [LoggerMessage(3, LogLevel.Information, "Secret {Namespace}/{Secret} deleted: no lightpeer pod in the namespace for {Seconds} s")]
        public static partial void Deleted(ILogger logger, string @namespace, string secret, double seconds);
    }
}
