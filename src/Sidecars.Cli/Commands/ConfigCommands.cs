using System.CommandLine;
using Sidecars.Cli.Configuration;

namespace Sidecars.Cli.Commands;

/// <summary><c>config set|get|path</c>: the settings file that lets commands run without flags.</summary>
internal static class ConfigCommands
{
    public static void AddTo(RootCommand root)
    {
        var command = new Command("config", "Show and change sidecarsctl's settings file (" + string.Join(", ", CliConfig.Keys.Keys) + ")");
        command.Subcommands.Add(Set());
        command.Subcommands.Add(Get());
        command.Subcommands.Add(PathCommand());
        root.Subcommands.Add(command);
    }

    private static Command Set()
    {
        var key = new Argument<string>("key") { Description = "One of: " + string.Join(", ", CliConfig.Keys.Select(k => $"{k.Key} ({k.Value})")) };
        var value = new Argument<string?>("value") { Description = "The value; empty removes the key", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("set", "Set a key in the settings file") { key, value };
        command.SetAction(result => Guard(() =>
        {
            var config = CliConfig.Load();
            config.Set(result.GetRequiredValue(key), Normalise(result.GetRequiredValue(key), result.GetValue(value)));
            config.Save();
            Console.Out.WriteLine($"{result.GetRequiredValue(key)} set in {config.Path}");
        }));
        return command;
    }

    private static Command Get()
    {
        var key = new Argument<string?>("key") { Description = "A key; all keys when omitted", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("get", "Print a key, or every key, of the settings file (the token is masked)") { key };
        command.SetAction(result => Guard(() =>
        {
            var config = CliConfig.Load();
            if (result.GetValue(key) is { } one)
            {
                if (!CliConfig.Keys.ContainsKey(one))
                {
                    throw new InvalidDataException($"unknown key '{one}' (known: {string.Join(", ", CliConfig.Keys.Keys)})");
                }

                Console.Out.WriteLine(Show(one, config[one] ?? string.Empty));
                return;
            }

            foreach (var (name, setting) in config.Values)
            {
                Console.Out.WriteLine($"{name}={Show(name, setting)}");
            }
        }));
        return command;
    }

    private static Command PathCommand()
    {
        var command = new Command("path", "Print the settings file's path");
        command.SetAction(_ => Console.Out.WriteLine(CliConfig.DefaultPath()));
        return command;
    }

    /// <summary>File settings become absolute, so the file works from any directory.</summary>
    private static string? Normalise(string key, string? value) =>
        key is "cert" or "key" or "ca" or "kubeconfig" && !string.IsNullOrEmpty(value) ? Path.GetFullPath(value) : value;

    private static string Show(string key, string value) => key == "token" && value.Length > 0 ? "(set, " + value.Length + " characters)" : value;

    private static int Guard(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
    }
}
