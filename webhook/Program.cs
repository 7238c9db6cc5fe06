using Sidecars.Webhook;

var builder = WebApplication.CreateBuilder(args);
builder.AddSidecarsWebhook();

var app = builder.Build();
app.MapSidecarsWebhook();
await app.RunAsync();
