using Microsoft.Extensions.Logging;

namespace Sidecars.LocalCluster;

public sealed partial class LocalControlPlane
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Starting local control plane in {StateDirectory}, apiserver {ApiServerUrl}")]
        public static partial void Starting(ILogger logger, string stateDirectory, string apiServerUrl);

        [LoggerMessage(2, LogLevel.Debug, "Started {Component} (pid {ProcessId}), log {LogPath}")]
        public static partial void ComponentStarted(ILogger logger, string component, int processId, string logPath);

        [LoggerMessage(3, LogLevel.Debug, "{Component} ready after {Seconds:0.0}s")]
        public static partial void ComponentReady(ILogger logger, string component, double seconds);

        [LoggerMessage(4, LogLevel.Information, "Local control plane ready at {ApiServerUrl}")]
        public static partial void Started(ILogger logger, string apiServerUrl);

        [LoggerMessage(5, LogLevel.Information, "Stopped {Component} (pid {ProcessId}) on request")]
        public static partial void ComponentStopped(ILogger logger, string component, int processId);

        [LoggerMessage(6, LogLevel.Information, "Compacted etcd to revision {Revision}")]
        public static partial void Compacted(ILogger logger, long revision);
    }
}
