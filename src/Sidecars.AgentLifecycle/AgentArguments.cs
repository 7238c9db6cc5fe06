using System.Globalization;
using System.Text;

namespace Sidecars.AgentLifecycle;

/// <summary>One option of an agent role: <c>--name VALUE</c> (or <c>--name=VALUE</c>), or a flag without a value.</summary>
/// <param name="Environment">The variable older manifests set (<c>POD_IP</c>, <c>SIDECARS_AGENT_SOCKET</c>); besides it every option is read from <c>Sidecars__&lt;Role&gt;__&lt;Name&gt;</c>.</param>
public sealed record AgentOption(string Name, string Help, string? Environment = null, bool Flag = false, string Value = "VALUE");

/// <summary>
/// The one argument parser of both agent roles. A value comes from the command line, else from the environment
/// variable <c>Sidecars__&lt;Role&gt;__&lt;Name&gt;</c> (the configuration naming of the other hosts: <c>--health-port</c> of the
/// pod-agent is <c>Sidecars__PodAgent__HealthPort</c>), else from the option's older variable. Errors are
/// <see cref="FormatException"/>s naming the option; <see cref="Usage"/> prints the options in one format.
/// </summary>
public sealed class AgentArguments
{
    private readonly string _section;
    private readonly IReadOnlyDictionary<string, AgentOption> _options;
    private readonly Dictionary<string, string> _values;
    private readonly Func<string, string?> _environment;

    private AgentArguments(string section, IReadOnlyDictionary<string, AgentOption> options, Dictionary<string, string> values, Func<string, string?> environment) =>
        (_section, _options, _values, _environment) = (section, options, values, environment);

    /// <param name="section">The role's configuration section: <c>PodAgent</c>, <c>Lightpeer</c>.</param>
    public static AgentArguments Parse(string section, IReadOnlyList<AgentOption> options, IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var known = options.ToDictionary(o => o.Name, StringComparer.Ordinal);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new FormatException($"unexpected argument '{arg}'");
            }

            var name = arg[2..];
            string? value = null;
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                value = name[(equals + 1)..];
                name = name[..equals];
            }

            if (!known.TryGetValue(name, out var option))
            {
                throw new FormatException($"unknown option --{name}");
            }

            values[name] = value
                ?? (option.Flag ? "true"
                    : i + 1 < args.Count ? args[++i]
                    : throw new FormatException($"option --{name} needs a value"));
        }

        return new AgentArguments(section, known, values, environment);
    }

    /// <summary>The option's value from the command line or the environment; null when unset or empty.</summary>
    public string? Get(string name)
    {
        var option = _options[name];
        if (_values.TryGetValue(name, out var value))
        {
            return value;
        }

        return NullIfEmpty(_environment($"Sidecars__{_section}__{PascalCase(name)}"))
            ?? (option.Environment is null ? null : NullIfEmpty(_environment(option.Environment)));
    }

    public bool Flag(string name) => Get(name) is { } value && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));

    public int WholeNumber(string name, int fallback, int min, int max) =>
        Get(name) is not { } text ? fallback
        : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value
        : throw new FormatException($"--{name}: '{text}' is not a whole number from {min} to {max}");

    public double Number(string name, double fallback, double above, double below) =>
        Get(name) is not { } text ? fallback
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > above && value < below ? value
        : throw new FormatException($"--{name}: '{text}' is not a number between {above.ToString(CultureInfo.InvariantCulture)} and {below.ToString(CultureInfo.InvariantCulture)}");

    public TimeSpan Seconds(string name, TimeSpan fallback) =>
        Get(name) is not { } text ? fallback
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? TimeSpan.FromSeconds(seconds)
        : throw new FormatException($"--{name}: '{text}' is not a positive number of seconds");

    /// <summary>The usage of one role, in the format every role shares.</summary>
    public static string Usage(string role, string section, IReadOnlyList<AgentOption> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"usage: sidecars-agent {role} [options]\n");
        foreach (var option in options)
        {
            var head = option.Flag ? $"--{option.Name}" : $"--{option.Name} {option.Value}";
            var environment = option.Environment is null ? string.Empty : $"; {option.Environment}";
            text.Append(CultureInfo.InvariantCulture, $"  {head,-26} {option.Help} (Sidecars__{section}__{PascalCase(option.Name)}{environment})\n");
        }

        return text.ToString();
    }

    private static string PascalCase(string name) =>
        string.Concat(name.Split('-').Select(part => part.Length == 0 ? part : char.ToUpperInvariant(part[0]) + part[1..]));

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
