using Microsoft.Extensions.Logging;

namespace Sidecars.Kubernetes;

public sealed partial class ResourceInformer<T>
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Listed {Count} {Source} at resourceVersion {ResourceVersion}")]
        public static partial void Listed(ILogger logger, string source, int count, string resourceVersion);

        [LoggerMessage(2, LogLevel.Information, "Watch of {Source} expired (410 Gone); relisting")]
        public static partial void Expired(ILogger logger, string source);

        [LoggerMessage(3, LogLevel.Warning, "List/watch of {Source} failed; retrying in {Seconds}s")]
        public static partial void Failed(ILogger logger, string source, double seconds, Exception exception);

        [LoggerMessage(4, LogLevel.Error, "A subscriber of {Source} failed while handling an event")]
        public static partial void HandlerFailed(ILogger logger, string source, Exception exception);

        [LoggerMessage(5, LogLevel.Warning, "Watch of {Source} sent nothing for {Seconds}s; resuming it")]
        public static partial void Stalled(ILogger logger, string source, double seconds);
    }
}
