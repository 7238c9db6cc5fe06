using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Sidecars.Webhook.Benchmarks;

/// <summary>The baseline: Kestrel over HTTPS that parses the review and answers allowed with no patch.</summary>
internal static class NoopAdmissionServer
{
    public static async Task RunAsync(int port, string certificateFile, string keyFile, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        using var certificate = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.UseHttps(certificate)));
        var app = builder.Build();
        app.MapPost("/mutate", async context =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var uid = document.RootElement.GetProperty("request").GetProperty("uid").GetString();
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
        await app.RunAsync(cancellationToken);
    }
}
