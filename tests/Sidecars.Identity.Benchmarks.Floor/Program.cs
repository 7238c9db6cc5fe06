using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// usage: grpc-floor <socket path> [health port]: with a port, also GET /healthz over plain HTTP/1.1 on 127.0.0.1 (as the
// agent serves its probes and metrics).
if (args.Length is not (1 or 2))
{
    await Console.Error.WriteLineAsync("usage: grpc-floor <socket path> [health port]");
    return 2;
}

File.Delete(args[0]);
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.Services.AddGrpc();
var health = new HealthServiceImpl();
health.SetStatus(string.Empty, HealthCheckResponse.Types.ServingStatus.Serving);
builder.Services.AddSingleton(health);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.ListenUnixSocket(args[0], listen => listen.Protocols = HttpProtocols.Http2);
    if (args.Length == 2)
    {
        kestrel.Listen(System.Net.IPAddress.Loopback, int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), listen => listen.Protocols = HttpProtocols.Http1);
    }
});
var app = builder.Build();
app.MapGrpcService<HealthServiceImpl>();
app.MapGet("/healthz", () => "ok");
await app.RunAsync();
return 0;
