using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Prometheus;
using Sidecars.Certificates.Serving;
using Sidecars.Observability;
using Sidecars.UserPods.Tokens;

MeterPublishing.Configure();
var builder = WebApplication.CreateBuilder(args);
builder.Logging.AddSidecarsDefaults(builder.Configuration);
builder.Services.AddGrpc();
builder.Services.AddGrpcReflection();
builder.Services.AddGrpcHealthChecks();
builder.Services.AddHealthChecks();
// Capability registrations (one line each).
builder.AddSidecarsIdentity();
builder.AddSidecarsClusters();
builder.AddSidecarsNetworks();
builder.AddSidecarsUserPods();
// Endpoints: gRPC over HTTPS with its self-issued certificate, probes and metrics on a plain port.
builder.AddSidecarsServing();
// Pod tokens are read with that certificate too (it allows client authentication and names the token reader), unless
// Sidecars:UserPods:TokenClientCertificateFile/KeyFile name another.
builder.Services.AddSingleton(sp => new HostTokenClientCertificate(() => sp.GetRequiredService<ServingCertificate>().Current));

var app = builder.Build();
app.UseHttpMetrics();
app.MapGrpcHealthChecksService();
app.MapGrpcReflectionService();
app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/readyz");
app.MapMetrics();
// Capability endpoints (one line each).
app.MapSidecarsIdentity();
app.MapSidecarsClusters();
app.MapSidecarsNetworks();
app.MapSidecarsUserPods();

await app.RunAsync();
