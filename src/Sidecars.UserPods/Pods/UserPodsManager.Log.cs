using Microsoft.Extensions.Logging;

namespace Sidecars.UserPods.Pods;

public sealed partial class UserPodsManager
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Created user pod {Namespace}/{Name} (service: {Service}, ingress: {Ingress})")]
        public static partial void Created(ILogger logger, string @namespace, string name, bool service, bool ingress);

        [LoggerMessage(2, LogLevel.Warning, "Creating the resources of user pod {Namespace}/{Name} failed, deleting it: {Reason}")]
        public static partial void CreateRolledBack(ILogger logger, string @namespace, string name, string reason);

        [LoggerMessage(3, LogLevel.Warning, "User pod {Namespace}/{Name} was not Ready within {Seconds}s; deleting it")]
        public static partial void NotReadyInTime(ILogger logger, string @namespace, string name, double seconds);

        [LoggerMessage(4, LogLevel.Information, "Deleting user pod {Namespace}/{Name}")]
        public static partial void Deleted(ILogger logger, string @namespace, string name);

        [LoggerMessage(5, LogLevel.Information, "Deleting {Count} user pod(s) in {Namespace} and {Storage} storage object(s)")]
        public static partial void DeletedAll(ILogger logger, string @namespace, int count, int storage);

        [LoggerMessage(6, LogLevel.Information, "Create repeated with the request_id of user pod {Namespace}/{Name}: answering that pod (still being made: {Creating})")]
        public static partial void Repeated(ILogger logger, string @namespace, string name, bool creating);
    }
}
