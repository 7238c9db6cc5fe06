using Microsoft.Extensions.Logging;

namespace Sidecars.Lightpeer;

public sealed partial class LightpeerNode
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Lightpeer {Self} joined through {Address}; knows {Count} peers")]
        public static partial void Joined(ILogger logger, string self, string address, int count);

        [LoggerMessage(2, LogLevel.Warning, "Lightpeer {Self} could not join through {Address}: {Reason}")]
        public static partial void JoinFailed(ILogger logger, string self, string address, string reason);

        [LoggerMessage(3, LogLevel.Debug, "Lightpeer {Self} learnt {Added} peers; knows {Count}")]
        public static partial void Learnt(ILogger logger, string self, int added, int count);

        [LoggerMessage(4, LogLevel.Information, "Lightpeer {Self} dropped peer {Peer} ({Reason})")]
        public static partial void Dropped(ILogger logger, string self, string peer, string reason);

        [LoggerMessage(5, LogLevel.Debug, "Lightpeer {Self} could not announce to {Peer} (attempt {Attempt}): {Reason}")]
        public static partial void AnnounceFailed(ILogger logger, string self, string peer, int attempt, string reason);

        [LoggerMessage(6, LogLevel.Information, "Lightpeer {Self} took back peer {Peer}: it answers again")]
        public static partial void TakenBack(ILogger logger, string self, string peer);

        [LoggerMessage(7, LogLevel.Information, "Lightpeer {Self} found peer {Peer} at a newer incarnation {Incarnation} (restarted or joined again): sending it our set")]
        public static partial void Restarted(ILogger logger, string self, string peer, ulong incarnation);

        [LoggerMessage(8, LogLevel.Information, "Lightpeer {Self} is in its network ({How} {Peer}): Ready")]
        public static partial void BecameMember(ILogger logger, string self, string how, string peer);
    }
}
