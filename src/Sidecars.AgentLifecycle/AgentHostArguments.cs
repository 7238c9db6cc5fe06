namespace Sidecars.AgentLifecycle;

/// <summary>Host settings shared by the agent's roles.</summary>
public static class AgentHostArguments
{
    /// <summary>
    /// The roles take their settings from arguments and the environment, never from files, so the host must not watch
    /// configuration files: every watcher is an inotify instance, and inotify instances are limited per user across
    /// the whole node (128 by default), which a node full of pods running their sidecars as one user exhausts.
    /// </summary>
    public static readonly string[] NoFileWatching = ["--hostBuilder:reloadConfigOnChange=false"];
}
