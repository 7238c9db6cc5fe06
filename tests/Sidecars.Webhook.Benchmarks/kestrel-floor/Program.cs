using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

// sidecars-kestrel-floor --port P --cert tls.crt --key tls.key
// Parses the review (uid) and answers allowed without a patch: what any ASP.NET Core admission webhook pays at least.
var port = 0;
string? certificateFile = null, keyFile = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--port": port = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--cert": certificateFile = args[i + 1]; break;
        case "--key": keyFile = args[i + 1]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

if (port <= 0 || certificateFile is null || keyFile is null)
{
    Console.Error.WriteLine("usage: sidecars-kestrel-floor --port P --cert tls.crt --key tls.key");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
using var certificate = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.UseHttps(certificate)));
var app = builder.Build();
app.MapPost("/mutate", async context =>
{
    using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
    var uid = document.RootElement.TryGetProperty("request", out var request) && request.TryGetProperty("uid", out var id) ? id.GetString() : null;
    if (uid is null)
    {
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        await context.Response.WriteAsync("malformed-review: no request.uid\n", context.RequestAborted);
        return;
    }

    context.Response.ContentType = "application/json";
    await using var writer = new Utf8JsonWriter(context.Response.Body);
    writer.WriteStartObject();
    writer.WriteString("apiVersion", "admission.k8s.io/v1");
    writer.WriteString("kind", "AdmissionReview");
    writer.WriteStartObject("response");
    writer.WriteString("uid", uid);
    writer.WriteBoolean("allowed", true);
    writer.WriteEndObject();
    writer.WriteEndObject();
});
await app.RunAsync();
return 0;
