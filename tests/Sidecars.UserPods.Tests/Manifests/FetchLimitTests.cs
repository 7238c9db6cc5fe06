using Sidecars.Testing.Http;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Manifests;

namespace Sidecars.UserPods.Tests;

public sealed class FetchLimitTests : IAsyncLifetime
{
    private LoopbackHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await LoopbackHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_manifest_over_the_limit_is_refused()
    {
        _server.Files["/big.yaml"] = new string('#', 101);
        var fetcher = Fetcher(new UserPodsOptions { ManifestWhitelist = @"http://127\.0\.0\.1:\d+/.*", ManifestByteLimit = 100 });
        var e = await Assert.ThrowsAsync<UserPodsException>(() => fetcher.FetchAsync(_server.Url("/big.yaml"), CancellationToken.None));
        Assert.Equal(UserPodsError.InvalidArgument, e.Error);
        Assert.Contains("larger than the limit of 100 bytes", e.Message);
    }

    [Fact]
    public async Task A_url_off_the_whitelist_is_never_fetched()
    {
        var fetcher = Fetcher(new UserPodsOptions { ManifestWhitelist = @"https://example\.org/.*" });
        var e = await Assert.ThrowsAsync<UserPodsException>(() => fetcher.FetchAsync(_server.Url("/a.yaml"), CancellationToken.None));
        Assert.Equal(UserPodsError.PermissionDenied, e.Error);
    }

    [Fact]
    public async Task A_missing_manifest_names_the_status()
    {
        var fetcher = Fetcher(new UserPodsOptions { ManifestWhitelist = @"http://127\.0\.0\.1:\d+/.*" });
        var e = await Assert.ThrowsAsync<UserPodsException>(() => fetcher.FetchAsync(_server.Url("/none.yaml"), CancellationToken.None));
        Assert.Contains("answered 404", e.Message);
    }

    private static ManifestFetcher Fetcher(UserPodsOptions options) => new(new HttpClient(), Microsoft.Extensions.Options.Options.Create(options));

}
