using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sidecars.Identity.Store;

/// <summary>
/// Embedded store for a cluster agent without a cluster: one JSON file, loaded at first use, rewritten on
/// every change through a temporary file that is flushed to disk and renamed over the old one. Temporary files of
/// writes interrupted by a kill are deleted when the file is loaded.
/// </summary>
public sealed class FileIdentityStore : IIdentityStore, IDisposable
{
    private readonly string _path;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<string, SecretRecord> _secrets = new(StringComparer.Ordinal);
    private RootRecord? _root;
    private volatile bool _loaded;

    public FileIdentityStore(string path)
    {
        _path = Path.GetFullPath(path);
    }

    /// <summary>The store's file (absolute).</summary>
    public string FilePath => _path;

    public async Task<RootRecord?> GetRootAsync(CancellationToken cancellationToken)
    {
        await EnsureLoadedAsync(cancellationToken);
        return _root;
    }

    public async Task<bool> TryCreateRootAsync(RootRecord root, CancellationToken cancellationToken)
    {
        await EnsureLoadedAsync(cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_root is not null)
            {
                return false;
            }

            await WriteAsync(root, _secrets.Values, cancellationToken);
            _root = root;
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<SecretRecord?> FindSecretAsync(string hash, CancellationToken cancellationToken)
    {
        await EnsureLoadedAsync(cancellationToken);
        return _secrets.GetValueOrDefault(hash);
    }

    public async Task AddSecretAsync(SecretRecord secret, CancellationToken cancellationToken)
    {
        await EnsureLoadedAsync(cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await WriteAsync(_root, _secrets.Values.Append(secret), cancellationToken);
            _secrets[secret.Hash] = secret;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<SecretRecord?> RemoveSecretAsync(string hash, CancellationToken cancellationToken)
    {
        await EnsureLoadedAsync(cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_secrets.TryGetValue(hash, out var existing))
            {
                return null;
            }

            await WriteAsync(_root, _secrets.Values.Where(s => s.Hash != hash), cancellationToken);
            _secrets.TryRemove(hash, out _);
            return existing;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private async Task EnsureLoadedAsync(CancellationToken cancellationToken)
    {
        if (_loaded)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_loaded)
            {
                return;
            }

            RemoveInterruptedWrites();
            if (File.Exists(_path))
            {
                await using var stream = File.OpenRead(_path);
                var state = await JsonSerializer.DeserializeAsync(stream, FileStoreJsonContext.Default.FileStoreState, cancellationToken)
                    ?? throw new InvalidDataException($"identity store {_path} is empty");
                _root = state.Root;
                foreach (var secret in state.Secrets)
                {
                    _secrets[secret.Hash] = secret;
                }
            }

            _loaded = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Deletes the temporary files of writes that a killed process left behind: never renamed, so never the state,
    /// but each a full copy of it, the root's private key included.
    /// </summary>
    private void RemoveInterruptedWrites()
    {
        var directory = Path.GetDirectoryName(_path)!;
        if (!Directory.Exists(directory))
        {
            return;
        }

        foreach (var leftover in Directory.EnumerateFiles(directory, TemporaryName("*")))
        {
            File.Delete(leftover);
        }
    }

    private string TemporaryName(string unique) => $".{Path.GetFileName(_path)}.{unique}.tmp";

    private async Task WriteAsync(RootRecord? root, IEnumerable<SecretRecord> secrets, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(_path)!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, TemporaryName(Guid.NewGuid().ToString("N")));
        var state = new FileStoreState { Root = root, Secrets = [.. secrets.OrderBy(s => s.CreatedAt)] };
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Options = FileOptions.Asynchronous,
            };
            if (!OperatingSystem.IsWindows())
            {
                // The root's private key is in this file.
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            await using (var stream = new FileStream(temporary, options))
            {
                await JsonSerializer.SerializeAsync(stream, state, FileStoreJsonContext.Default.FileStoreState, cancellationToken);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, _path, overwrite: true);
            FlushDirectory(directory);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    private static void FlushDirectory(string directory)
    {
        // Makes the rename itself durable; not every file system lets a directory be opened for this.
        try
        {
            using var handle = File.OpenHandle(directory, FileMode.Open, FileAccess.Read);
            RandomAccess.FlushToDisk(handle);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
        }
    }
}

internal sealed class FileStoreState
{
    public int Version { get; set; } = 1;

    public RootRecord? Root { get; set; }

    public List<SecretRecord> Secrets { get; set; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(FileStoreState))]
internal sealed partial class FileStoreJsonContext : JsonSerializerContext;
