using System.Net;
using System.Net.Http.Headers;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sidecars.Contracts.V1;
using Sidecars.Testing.Agent;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Hosting;

namespace Sidecars.UserPods.Tests.EndToEnd;

/// <summary>
/// An in-process cluster agent serving the user-pods API: gRPC (h2c) and HTTP/JSON on two 127.0.0.1 ports.
/// Callers: alice and bob (users) and a portal operator.
/// </summary>
public sealed class ClusterAgentHost : IAsyncDisposable
{
    public const string AliceKey = "alice-key-0123456789";
    public const string BobKey = "bob-key-0123456789abc";
    public const string OperatorKey = "operator-key-0123456789";
    public const string Alice = "alice@example.org";
    public const string Bob = "bob@example.org";

    private readonly WebApplication _app;
    private readonly List<GrpcChannel> _channels = [];

    private ClusterAgentHost(WebApplication app, int grpcPort, int httpPort)
    {
        _app = app;
        GrpcAddress = new Uri($"http://127.0.0.1:{grpcPort}");
        HttpAddress = new Uri($"http://127.0.0.1:{httpPort}");
    }

    public Uri GrpcAddress { get; }

    public Uri HttpAddress { get; }

    public UserPodsDiagnostics Diagnostics => _app.Services.GetRequiredService<UserPodsDiagnostics>();

    /// <param name="logFile">Also write every log line of Information and above there.</param>
    public static async Task<ClusterAgentHost> StartAsync(string kubeconfig, IDictionary<string, string?> settings, string? logFile = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(logFile is null ? LogLevel.Warning : LogLevel.Information);
        if (logFile is not null)
        {
            builder.Logging.AddProvider(new FileLoggerProvider(logFile));
        }

        ListenOptions? grpc = null;
        ListenOptions? http = null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, o => { o.Protocols = HttpProtocols.Http2; grpc = o; });
            k.Listen(IPAddress.Loopback, 0, o => { o.Protocols = HttpProtocols.Http1; http = o; });
        });
        builder.Configuration["Sidecars:Kubernetes:KubeconfigPath"] = kubeconfig;
        // The lifecycle runs on the elected replica; on a loaded test machine the apiserver gets 25 s to renew the
        // Lease before the host steps down (which stops it: an in-process host is not restarted as a pod is).
        builder.Configuration["Sidecars:Leadership:Namespace"] = settings.TryGetValue("namespace", out var ns) ? ns : null;
        builder.Configuration["Sidecars:Leadership:LeaseDuration"] = AgentHost.LeaseDuration.ToString();
        builder.Configuration["Sidecars:Leadership:RenewDeadline"] = "00:00:25";
        builder.Configuration["Sidecars:Leadership:RetryPeriod"] = AgentHost.RetryPeriod.ToString();
        var values = new Dictionary<string, string?>(settings, StringComparer.OrdinalIgnoreCase)
        {
            ["callers:0:key"] = AliceKey,
            ["callers:0:userId"] = Alice,
            ["callers:1:key"] = BobKey,
            ["callers:1:userId"] = Bob,
            ["callers:2:key"] = OperatorKey,
            ["callers:2:userId"] = "portal",
            ["callers:2:operator"] = "true",
        };
        builder.Services.AddGrpc(o => o.EnableDetailedErrors = true);
        builder.Configuration.AddInMemoryCollection(values.Select(v => KeyValuePair.Create(ConfigurationPath.Combine(UserPodsOptions.Section, v.Key), v.Value)));
        builder.AddSidecarsUserPods();
        var app = builder.Build();
        app.MapSidecarsUserPods();
        await app.StartAsync();
        return new ClusterAgentHost(app, grpc!.IPEndPoint!.Port, http!.IPEndPoint!.Port);
    }

    public Contracts.V1.UserPods.UserPodsClient GrpcClient(string key)
    {
        var channel = GrpcChannel.ForAddress(GrpcAddress);
        _channels.Add(channel);
        var invoker = channel.Intercept(metadata =>
        {
            metadata.Add("authorization", "Bearer " + key);
            return metadata;
        });
        return new Contracts.V1.UserPods.UserPodsClient(invoker);
    }

    public HttpClient JsonClient(string? key)
    {
        var client = new HttpClient { BaseAddress = HttpAddress, Timeout = TimeSpan.FromMinutes(2) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
