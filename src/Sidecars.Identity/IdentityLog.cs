using Microsoft.Extensions.Logging;

namespace Sidecars.Identity;

/// <summary>Start-up messages of the identity capability.</summary>
internal static partial class IdentityLog
{
    [LoggerMessage(10, LogLevel.Information, "Identity state in the file store {Path}")]
    public static partial void StoreInFile(ILogger logger, string path);

    [LoggerMessage(11, LogLevel.Information, "Identity state in Kubernetes Secrets of namespace {Namespace}")]
    public static partial void StoreInKubernetes(ILogger logger, string @namespace);
}
