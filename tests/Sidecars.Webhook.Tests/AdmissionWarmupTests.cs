using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Sidecars.Mutation;
using Sidecars.Testing;
using Sidecars.Webhook.Hosting;

namespace Sidecars.Webhook.Tests;

/// <summary>
/// A new replica runs sample reviews through the admission path before it reports ready, so the first review of a
/// rolling update is not the one that pays for compiling it; a replica whose engine cannot decide them stays unready.
/// </summary>
public sealed class AdmissionWarmupTests : IDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private readonly TestCertificates _certificates = new();

    [Fact]
    public async Task The_webhook_is_ready_once_the_samples_went_through_the_injection_path()
    {
        await using var server = await WebhookServer.StartAsync(_certificates);
        var warmup = server.Services.GetRequiredService<AdmissionWarmup>();

        Assert.Null(await warmup.Completion.WaitAsync(ReadyTimeout));
        Assert.Equal([AdmissionOutcome.Mutated, AdmissionOutcome.Skipped], warmup.Outcomes);
        using var client = server.CreateClient();
        using var ready = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task A_replica_whose_engine_fails_on_a_sample_stays_unready_and_says_why()
    {
        // An engine built from options that never went through validation (no claim name template): the sample's
        // data volume makes it dereference the template.
        var unvalidated = new InjectionOptions { Registry = "registry.test/team", ClaimNameTemplate = null! };
        await using var server = await WebhookServer.StartAsync(_certificates, services: services => services.AddSingleton(new MutationEngine(unvalidated)));
        var warmup = server.Services.GetRequiredService<AdmissionWarmup>();

        var failure = await warmup.Completion.WaitAsync(ReadyTimeout);
        Assert.NotNull(failure);
        using var client = server.CreateClient();
        using var ready = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        using var live = await client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task Start_up_memory_is_returned_once_the_replica_is_ready()
    {
        await using var server = await WebhookServer.StartAsync(_certificates);
        var warmup = server.Services.GetRequiredService<AdmissionWarmup>();
        var release = server.Services.GetRequiredService<StartupMemoryRelease>();

        // Under a JIT runtime no file page is unmapped (assemblies may be mapped and relocated at any time).
        Assert.Equal(0, await release.Released.WaitAsync(ReadyTimeout));
        Assert.True(warmup.Completion.IsCompletedSuccessfully);
        Assert.Null(await warmup.Completion);
    }

    [Fact]
    public async Task A_replica_that_failed_its_warm_up_returns_nothing()
    {
        var unvalidated = new InjectionOptions { Registry = "registry.test/team", ClaimNameTemplate = null! };
        await using var server = await WebhookServer.StartAsync(_certificates, services: services => services.AddSingleton(new MutationEngine(unvalidated)));
        var release = server.Services.GetRequiredService<StartupMemoryRelease>();

        await release.ExecuteTask!.WaitAsync(ReadyTimeout);
        Assert.NotNull(await server.Services.GetRequiredService<AdmissionWarmup>().Completion);
        Assert.False(release.Released.IsCompleted);
    }

    public void Dispose() => _certificates.Dispose();
}
