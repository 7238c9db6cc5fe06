using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Sidecars.Cli.Configuration;
using Sidecars.Identity.Admin;

namespace Sidecars.Cli.Commands;

/// <summary>
/// How a command reaches the cluster agent: its address, the admin client certificate, the CA of the agent's TLS
/// certificate and, where the service accepts one, a bearer ServiceAccount token; each falls back to its environment
/// variable, then to the settings file (<see cref="CliConfig"/>).
/// </summary>
internal sealed class ClusterAgentConnection
{
    private readonly Option<string?> _agent = new("--agent") { Description = "Cluster agent gRPC URL (default $SIDECARS_CLUSTER_AGENT)" };
    private readonly Option<string?> _cert = new("--cert") { Description = "Admin client certificate PEM (default $SIDECARS_ADMIN_CERT)" };
    private readonly Option<string?> _key = new("--key") { Description = "Admin client key PEM (default $SIDECARS_ADMIN_KEY)" };
    private readonly Option<string?> _ca = new("--ca") { Description = "CA PEM of the cluster agent's TLS certificate (default $SIDECARS_CLUSTER_AGENT_CA)" };
    private readonly Option<string?>? _token;

    private ClusterAgentConnection(bool token) =>
        _token = token ? new("--token") { Description = "Bearer ServiceAccount token for admin calls (default $SIDECARS_ADMIN_TOKEN)" } : null;

    /// <param name="token">Whether the command offers <c>--token</c> (the identity service's admin calls accept one).</param>
    public static ClusterAgentConnection Create(bool token = false) => new(token);

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var option in new Option?[] { _agent, _cert, _key, _ca, _token })
        {
            if (option is not null)
            {
                command.Options.Add(option);
            }
        }
    }

    public GrpcChannel Connect(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var config = CliConfig.Load();
        var address = result.GetValue(_agent) ?? Environment.GetEnvironmentVariable("SIDECARS_CLUSTER_AGENT") ?? config["agent"]
            ?? throw new InvalidDataException("--agent (or SIDECARS_CLUSTER_AGENT, or 'sidecarsctl config set agent <url>') is required");
        var cert = result.GetValue(_cert) ?? Environment.GetEnvironmentVariable("SIDECARS_ADMIN_CERT") ?? config["cert"];
        var key = result.GetValue(_key) ?? Environment.GetEnvironmentVariable("SIDECARS_ADMIN_KEY") ?? config["key"];
        var ca = result.GetValue(_ca) ?? Environment.GetEnvironmentVariable("SIDECARS_CLUSTER_AGENT_CA") ?? config["ca"];
        var token = _token is null ? null : result.GetValue(_token) ?? Environment.GetEnvironmentVariable("SIDECARS_ADMIN_TOKEN") ?? config["token"];
        var client = cert is not null && key is not null ? AdminCredentials.LoadPem(cert, key) : null;
        X509Certificate2Collection? roots = null;
        if (ca is not null)
        {
            roots = [];
            roots.ImportFromPemFile(ca);
        }

        var options = new GrpcChannelOptions { HttpHandler = AdminCredentials.CreateHandler(client, roots), DisposeHttpClient = true };
        if (token is not null)
        {
            var credentials = CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("Authorization", "Bearer " + token);
                return Task.CompletedTask;
            });
            options.Credentials = ChannelCredentials.Create(address.StartsWith("https", StringComparison.Ordinal) ? new SslCredentials() : ChannelCredentials.Insecure, credentials);
            options.UnsafeUseInsecureChannelCallCredentials = true;
        }

        return GrpcChannel.ForAddress(address, options);
    }
}
