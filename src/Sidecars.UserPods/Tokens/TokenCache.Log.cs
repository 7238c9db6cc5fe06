using Microsoft.Extensions.Logging;

namespace Sidecars.UserPods.Tokens;

public sealed partial class TokenCache
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Stored {Count} token(s) of pod {Namespace}/{Name}")]
        public static partial void TokensStored(ILogger logger, string @namespace, string name, int count);

        [LoggerMessage(2, LogLevel.Warning, "Token {Key} of pod {Namespace}/{Name} refused: {Reason}")]
        public static partial void TokenRefused(ILogger logger, string @namespace, string name, string key, string reason);
    }
}
