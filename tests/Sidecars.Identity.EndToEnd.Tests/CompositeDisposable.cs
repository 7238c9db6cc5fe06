namespace Sidecars.Identity.EndToEnd.Tests;

/// <summary>Disposes what a test collected, in order.</summary>
internal sealed class CompositeDisposable : IDisposable
{
    private readonly List<IDisposable> _items = [];

    public T Add<T>(T item)
        where T : IDisposable
    {
        _items.Add(item);
        return item;
    }

    public void Dispose() => _items.ForEach(i => i.Dispose());
}
