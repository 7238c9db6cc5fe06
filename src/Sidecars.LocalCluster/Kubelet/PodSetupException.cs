namespace Sidecars.LocalCluster;

/// <summary>A pod cannot start yet (a referenced Secret or ConfigMap is missing, an invalid path); retried.</summary>
public sealed class PodSetupException : Exception
{
    public PodSetupException()
    {
    }

    public PodSetupException(string message)
        : base(message)
    {
    }

    public PodSetupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
