using Prometheus;
using Sidecars.Observability;

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

var app = builder.Build();
app.UseHttpMetrics();
app.MapGrpcHealthChecksService();
app.MapGrpcReflectionService();
app.MapHealthChecks("/healthz");
app.MapHealthChecks("/readyz");
app.MapMetrics();
// Capability endpoints (one line each).
app.MapSidecarsIdentity();
app.MapSidecarsClusters();
app.MapSidecarsNetworks();
app.MapSidecarsUserPods();

await app.RunAsync();
