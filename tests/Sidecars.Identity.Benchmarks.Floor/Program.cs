using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// usage: grpc-floor <socket path>
if (args.Length != 1)
{
    await Console.Error.WriteLineAsync("usage: grpc-floor <socket path>");
    return 2;
}

File.Delete(args[0]);
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.Services.AddGrpc();
var health = new HealthServiceImpl();
health.SetStatus(string.Empty, HealthCheckResponse.Types.ServingStatus.Serving);
builder.Services.AddSingleton(health);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenUnixSocket(args[0], listen => listen.Protocols = HttpProtocols.Http2));
var app = builder.Build();
app.MapGrpcService<HealthServiceImpl>();
await app.RunAsync();
return 0;
