using Microsoft.Extensions.Logging;

namespace Sidecars.LocalCluster;

internal sealed partial class PodWorker
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Pod {Namespace}/{Name} starting with IP {PodIp}, {ProcessCount} process containers")]
        public static partial void PodStarting(ILogger logger, string @namespace, string name, string podIp, int processCount);

        [LoggerMessage(2, LogLevel.Warning, "Pod {Namespace}/{Name} cannot start yet: {Reason}")]
        public static partial void SetupFailed(ILogger logger, string @namespace, string name, string reason);

        [LoggerMessage(3, LogLevel.Debug, "Pod {Namespace}/{Name} container {Container} started as process {ProcessId}")]
        public static partial void ContainerStarted(ILogger logger, string @namespace, string name, string container, int processId);

        [LoggerMessage(4, LogLevel.Warning, "Pod {Namespace}/{Name} container {Container} failed to start: {Reason}")]
        public static partial void ContainerStartFailed(ILogger logger, string @namespace, string name, string container, string reason);

        [LoggerMessage(5, LogLevel.Debug, "Pod {Namespace}/{Name} container {Container} exited with {ExitCode}")]
        public static partial void ContainerExited(ILogger logger, string @namespace, string name, string container, int exitCode);

        [LoggerMessage(6, LogLevel.Information, "Pod {Namespace}/{Name} container {Container} failed its liveness probe; killing it")]
        public static partial void LivenessFailed(ILogger logger, string @namespace, string name, string container);

        [LoggerMessage(7, LogLevel.Debug, "Pod {Namespace}/{Name} terminated and deleted")]
        public static partial void PodTerminated(ILogger logger, string @namespace, string name);

        [LoggerMessage(8, LogLevel.Debug, "Pod {Namespace}/{Name} finished: {Phase}")]
        public static partial void PodFinished(ILogger logger, string @namespace, string name, string phase);

        [LoggerMessage(9, LogLevel.Warning, "Status patch of pod {Namespace}/{Name} failed: {Reason}")]
        public static partial void StatusPatchFailed(ILogger logger, string @namespace, string name, string reason);

        [LoggerMessage(11, LogLevel.Warning, "Pod {Namespace}/{Name}: renewing a projected service-account token failed: {Reason}")]
        public static partial void TokenRefreshFailed(ILogger logger, string @namespace, string name, string reason);

        [LoggerMessage(12, LogLevel.Information, "Pod {Namespace}/{Name}: volume {Volume} updated from its object")]
        public static partial void VolumeUpdated(ILogger logger, string @namespace, string name, string volume);

        [LoggerMessage(13, LogLevel.Warning, "Pod {Namespace}/{Name}: syncing Secret and ConfigMap volumes failed: {Reason}")]
        public static partial void VolumeSyncFailed(ILogger logger, string @namespace, string name, string reason);

        [LoggerMessage(10, LogLevel.Error, "Pod {Namespace}/{Name}: unexpected failure")]
        public static partial void WorkFailed(ILogger logger, string @namespace, string name, Exception exception);
    }
}
