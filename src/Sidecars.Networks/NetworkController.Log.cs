using Microsoft.Extensions.Logging;

namespace Sidecars.Networks;

public sealed partial class NetworkController
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Pod {Namespace}/{Name} joined network {Network} through {Via}")]
        public static partial void Joined(ILogger logger, string @namespace, string name, string network, string via);

        [LoggerMessage(2, LogLevel.Warning, "Member {Member} unreachable from pod {Namespace}/{Name}: {Reason}")]
        public static partial void MemberUnreachable(ILogger logger, string member, string @namespace, string name, string reason);

        [LoggerMessage(3, LogLevel.Warning, "Lightpeer of pod {Namespace}/{Name} at {Address} does not answer: {Reason}")]
        public static partial void PodUnreachable(ILogger logger, string @namespace, string name, string address, string reason);

        [LoggerMessage(4, LogLevel.Information, "Purged pod {Namespace}/{Name} from network {Network} ({Reason})")]
        public static partial void Purged(ILogger logger, string @namespace, string name, string network, string reason);

        [LoggerMessage(5, LogLevel.Debug, "Member {Member} could not be told to forget {Address}: {Reason}")]
        public static partial void ForgetFailed(ILogger logger, string member, string address, string reason);

        [LoggerMessage(6, LogLevel.Warning, "Gave up joining pod {Namespace}/{Name} to network {Network} after {Attempts} attempts")]
        public static partial void GaveUp(ILogger logger, string @namespace, string name, string network, int attempts);

        [LoggerMessage(7, LogLevel.Warning, "Recording the membership of pod {Namespace}/{Name} in network {Network} failed: {Reason}")]
        public static partial void RecordFailed(ILogger logger, string @namespace, string name, string network, string reason);

        [LoggerMessage(8, LogLevel.Information, "Took over network {Network} with {Count} recorded members")]
        public static partial void Resumed(ILogger logger, string network, int count);

        [LoggerMessage(9, LogLevel.Error, "Joining pod {Namespace}/{Name} to network {Network} failed; trying again after a backoff")]
        public static partial void JoinCrashed(ILogger logger, string @namespace, string name, string network, Exception exception);

        [LoggerMessage(10, LogLevel.Information, "Joined member {Namespace}/{Name} to network {Network} again via {Via}: its lightpeer had restarted outside the network")]
        public static partial void Rejoined(ILogger logger, string @namespace, string name, string network, string via);
    }
}
