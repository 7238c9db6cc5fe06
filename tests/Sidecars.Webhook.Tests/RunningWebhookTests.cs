namespace Sidecars.Webhook.Tests;

/// <summary>Base of test classes that talk over HTTPS to a real webhook started for each test.</summary>
public abstract class RunningWebhookTests : IAsyncLifetime
{
    private readonly TestCertificates _certificates = new();
    private WebhookServer? _server;

    protected HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _server = await WebhookServer.StartAsync(_certificates);
        Client = _server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _certificates.Dispose();
    }
}
