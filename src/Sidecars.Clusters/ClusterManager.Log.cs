using Microsoft.Extensions.Logging;

namespace Sidecars.Clusters;

public sealed partial class ClusterManager
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Created Deployment {Namespace}/{Name} with {Replicas} replicas")]
        public static partial void Created(ILogger logger, string @namespace, string name, int replicas);

        [LoggerMessage(2, LogLevel.Information, "Deployment {Namespace}/{Name} already exists; waiting on it")]
        public static partial void AlreadyExists(ILogger logger, string @namespace, string name);

        [LoggerMessage(3, LogLevel.Warning, "Creating Deployment {Namespace}/{Name} failed: {Reason}")]
        public static partial void CreateFailed(ILogger logger, string @namespace, string name, string reason);

        [LoggerMessage(4, LogLevel.Information, "Deleting Deployment {Namespace}/{Name} (foreground)")]
        public static partial void Deleting(ILogger logger, string @namespace, string name);

        [LoggerMessage(5, LogLevel.Warning, "Deleting Deployment {Namespace}/{Name} failed")]
        public static partial void DeleteFailed(ILogger logger, string @namespace, string name, Exception exception);
    }
}
