using Sidecars.Webhook;

var builder = WebApplication.CreateSlimBuilder(args);
builder.AddSidecarsWebhook();

var app = builder.Build();
app.MapSidecarsWebhook();
await app.RunAsync();
