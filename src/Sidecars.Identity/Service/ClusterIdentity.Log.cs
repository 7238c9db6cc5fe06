using Microsoft.Extensions.Logging;

namespace Sidecars.Identity.Service;

public sealed partial class ClusterIdentity
{
    [LoggerMessage(1, LogLevel.Information, "Cluster agent claimed as blessing {Blessing}")]
    private partial void LogClaimed(string blessing);

    [LoggerMessage(2, LogLevel.Information, "New secret for blessing {Blessing}")]
    private partial void LogSecretCreated(string blessing);

    [LoggerMessage(3, LogLevel.Information, "Secret for blessing {Blessing} forgotten")]
    private partial void LogSecretForgotten(string blessing);

    [LoggerMessage(4, LogLevel.Warning, "Pod {Namespace}/{Pod} asked for the blessing of replica {Replica}, which is not its own; refused")]
    private partial void LogReplicaRefused(string @namespace, string pod, string replica);
}
