using Sidecars.Identity.Store;
using Sidecars.Testing.Identity;
using Xunit;

namespace Sidecars.Identity.Tests;

public sealed class FileIdentityStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task State_survives_a_restart()
    {
        var path = _dir.File("state/identity.json");
        var root = new RootRecord("root", [1, 2, 3], [4, 5, 6], DateTimeOffset.UtcNow);
        var secret = new SecretRecord(new string('a', 64), "my-service", DateTimeOffset.UtcNow);
        using (var store = new FileIdentityStore(path))
        {
            Assert.True(await store.TryCreateRootAsync(root, default));
            Assert.False(await store.TryCreateRootAsync(root with { Blessing = "other" }, default));
            await store.AddSecretAsync(secret, default);
            await store.AddSecretAsync(secret with { Hash = new string('b', 64) }, default);
            Assert.NotNull(await store.RemoveSecretAsync(new string('b', 64), default));
        }

        using var restarted = new FileIdentityStore(path);
        var loadedRoot = await restarted.GetRootAsync(default);
        Assert.Equal("root", loadedRoot!.Blessing);
        Assert.Equal(root.PrivateKey, loadedRoot.PrivateKey);
        Assert.Equal("my-service", (await restarted.FindSecretAsync(secret.Hash, default))!.Extension);
        Assert.Null(await restarted.FindSecretAsync(new string('b', 64), default));
        Assert.Null(await restarted.RemoveSecretAsync(new string('c', 64), default));
    }

    [Fact]
    public async Task Writes_replace_the_file_atomically_and_privately()
    {
        var path = _dir.File("identity.json");
        using var store = new FileIdentityStore(path);
        for (var i = 0; i < 20; i++)
        {
            await store.AddSecretAsync(new SecretRecord(i.ToString("x64"), "app" + i, DateTimeOffset.UtcNow), default);
        }

        // Only the final file remains: every write went through a temporary file renamed over it.
        Assert.Equal(["identity.json"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var reread = new FileIdentityStore(path);
        Assert.NotNull(await reread.FindSecretAsync(19.ToString("x64"), default));
    }

    [Fact]
    public async Task Temporary_files_of_a_write_interrupted_by_a_kill_are_deleted_at_load()
    {
        var path = _dir.File("identity.json");
        using (var store = new FileIdentityStore(path))
        {
            await store.AddSecretAsync(new SecretRecord(new string('a', 64), "kept", DateTimeOffset.UtcNow), default);
        }

        // What a process killed between creating and renaming its temporary file leaves behind; other files stay.
        var leftover = _dir.File(".identity.json.0123456789abcdef.tmp");
        await File.WriteAllTextAsync(leftover, "{\"secrets\": [");
        var unrelated = _dir.File(".other.json.0123456789abcdef.tmp");
        await File.WriteAllTextAsync(unrelated, "x");

        using var restarted = new FileIdentityStore(path);
        Assert.Equal("kept", (await restarted.FindSecretAsync(new string('a', 64), default))!.Extension);
        Assert.False(File.Exists(leftover), "the interrupted write's temporary file was left behind");
        Assert.True(File.Exists(unrelated));
    }

    [Fact]
    public async Task Concurrent_writes_are_all_kept()
    {
        var path = _dir.File("identity.json");
        using (var store = new FileIdentityStore(path))
        {
            await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
                store.AddSecretAsync(new SecretRecord(i.ToString("x64"), "app", DateTimeOffset.UtcNow), default)));
        }

        using var reread = new FileIdentityStore(path);
        foreach (var i in Enumerable.Range(0, 50))
        {
            Assert.NotNull(await reread.FindSecretAsync(i.ToString("x64"), default));
        }
    }

    [Fact]
    public async Task A_corrupt_file_is_reported_not_replaced()
    {
        var path = _dir.File("identity.json");
        await File.WriteAllTextAsync(path, "{ not json");
        using var store = new FileIdentityStore(path);

        await Assert.ThrowsAnyAsync<System.Text.Json.JsonException>(() => store.GetRootAsync(default));
        Assert.Equal("{ not json", await File.ReadAllTextAsync(path));
    }

    public void Dispose() => _dir.Dispose();
}
