namespace Sidecars.LocalCluster;

/// <summary>A control-plane component exited while starting; the message carries the tail of its log.</summary>
public sealed class ComponentStartException : InvalidOperationException
{
    public ComponentStartException()
    {
    }

    public ComponentStartException(string message)
        : base(message)
    {
    }

    public ComponentStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ComponentStartException(string message, bool portTaken)
        : base(message)
    {
        PortTaken = portTaken;
    }

    /// <summary>The component could not bind its port (taken since it was chosen).</summary>
    public bool PortTaken { get; }
}
