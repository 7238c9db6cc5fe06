using System.Buffers;

namespace Sidecars.Webhook.Admission;

/// <summary>A request body read into a pooled buffer, refusing to grow past a limit.</summary>
internal sealed class BoundedBody : IDisposable
{
    private byte[] _buffer;
    private int _length;

    private BoundedBody(byte[] buffer) => _buffer = buffer;

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);

    /// <summary>Reads the whole stream, or returns null once more than <paramref name="maxBytes"/> arrive.</summary>
    public static async Task<BoundedBody?> ReadAsync(Stream stream, long maxBytes, CancellationToken cancellationToken)
    {
        var body = new BoundedBody(ArrayPool<byte>.Shared.Rent(16 * 1024));
        try
        {
            while (true)
            {
                if (body._length == body._buffer.Length)
                {
                    body.Grow();
                }

                var read = await stream.ReadAsync(body._buffer.AsMemory(body._length), cancellationToken);
                if (read == 0)
                {
                    return body;
                }

                body._length += read;
                if (body._length > maxBytes)
                {
                    body.Dispose();
                    return null;
                }
            }
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    private void Grow()
    {
        var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _length = 0;
        }
    }
}
