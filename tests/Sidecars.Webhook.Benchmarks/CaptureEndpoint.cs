using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Sidecars.Testing.Agent;

namespace Sidecars.Webhook.Benchmarks;

/// <summary>
/// An admission endpoint in the benchmark's own process that keeps the first review it receives (as the apiserver sends
/// it, defaults and all) and admits everything unchanged.
/// </summary>
internal sealed class CaptureEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly X509Certificate2 _certificate;
    private readonly TaskCompletionSource<string> _review = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private CaptureEndpoint(string certificateFile, string keyFile)
    {
        Port = FreePort.Next();
        _certificate = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port, l => l.UseHttps(_certificate)));
        _app = builder.Build();
        _app.MapPost("/mutate", async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            _review.TrySetResult(body);
            using var document = JsonDocument.Parse(body);
            var uid = document.RootElement.GetProperty("request").GetProperty("uid").GetString();
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsJsonAsync(new
            {
                apiVersion = "admission.k8s.io/v1",
                kind = "AdmissionReview",
                response = new { uid, allowed = true },
            }, context.RequestAborted);
        });
    }

    public int Port { get; }

    public Task<string> Review => _review.Task;

    public static async Task<CaptureEndpoint> StartAsync(string certificateFile, string keyFile, CancellationToken cancellationToken)
    {
        var endpoint = new CaptureEndpoint(certificateFile, keyFile);
        await endpoint._app.StartAsync(cancellationToken);
        return endpoint;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _certificate.Dispose();
    }
}
