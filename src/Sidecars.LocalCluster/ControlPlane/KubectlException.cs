namespace Sidecars.LocalCluster;

/// <summary>kubectl exited with a non-zero code.</summary>
public sealed class KubectlException : Exception
{
    public KubectlException(IReadOnlyList<string> args, int exitCode, string standardOutput, string standardError)
        : base($"kubectl {string.Join(' ', args)} exited with {exitCode}: {standardError.Trim()}")
    {
        ExitCode = exitCode;
        StandardOutput = standardOutput;
        StandardError = standardError;
    }

    public KubectlException()
    {
        StandardOutput = StandardError = string.Empty;
    }

    public KubectlException(string message)
        : base(message)
    {
        StandardOutput = StandardError = string.Empty;
    }

    public KubectlException(string message, Exception innerException)
        : base(message, innerException)
    {
        StandardOutput = StandardError = string.Empty;
    }

    public int ExitCode { get; }

    public string StandardOutput { get; }

    public string StandardError { get; }
}
