using System.CommandLine;
using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Sidecars.Conventions;
using Sidecars.Mutation;
using Sidecars.Webhook.Configuration;

namespace Sidecars.Cli.Commands;

/// <summary>
/// <c>inject</c> and <c>explain</c>: the webhook's own engine run offline over a manifest, like
/// <c>istioctl kube-inject</c>. The namespace is assumed opted in unless <c>--namespace-labels</c> says otherwise.
/// </summary>
internal static class InjectCommands
{
    public static void AddTo(RootCommand root)
    {
        root.Subcommands.Add(CreateInject());
        root.Subcommands.Add(CreateExplain());
    }

    private sealed record CommonOptions(
        Option<string> File, Option<string?> User, Option<string> Namespace, Option<string[]> NamespaceLabels, Option<string?> Config)
    {
        public static CommonOptions Create() => new(
            new Option<string>("--filename", "-f") { Description = "Manifest (YAML or JSON, multi-document; '-' for stdin)", Required = true },
            new Option<string?>("--user") { Description = "User the manifest is applied as (default: $USER)" },
            new Option<string>("--namespace", "-n") { Description = "Namespace of documents without one", DefaultValueFactory = _ => "default" },
            new Option<string[]>("--namespace-labels")
            {
                Description = "Labels of the target namespace, k=v (repeatable or comma-separated); default sidecars.io/injection=enabled",
                AllowMultipleArgumentsPerToken = true,
            },
            new Option<string?>("--config") { Description = "appsettings.json whose \"Sidecars:Injection\" section configures the engine" });

        public void AddTo(Command command)
        {
            command.Options.Add(File);
            command.Options.Add(User);
            command.Options.Add(Namespace);
            command.Options.Add(NamespaceLabels);
            command.Options.Add(Config);
        }

        public IReadOnlyList<InjectedDocument> Run(ParseResult result)
        {
            var options = LoadOptions(result.GetValue(Config));
            var context = new ManifestContext
            {
                UserName = result.GetValue(User) ?? Environment.GetEnvironmentVariable("USER") ?? "unknown",
                DefaultNamespace = result.GetValue(Namespace) ?? "default",
                NamespaceLabels = ParseLabels(result.GetValue(NamespaceLabels)),
            };
            var path = result.GetRequiredValue(File);
            var manifest = path == "-" ? Console.In.ReadToEnd() : System.IO.File.ReadAllText(path);
            return new ManifestInjector(options, context).Inject(manifest);
        }
    }

    private static Command CreateInject()
    {
        var common = CommonOptions.Create();
        var diff = new Option<bool>("--diff") { Description = "Print a unified diff instead of the mutated manifest" };
        var command = new Command("inject", "Print the manifest as the admission webhook would mutate it");
        common.AddTo(command);
        command.Options.Add(diff);
        command.SetAction(result => Guard(() =>
        {
            var documents = common.Run(result);
            var after = YamlJson.WriteDocuments(documents.Select(d => d.Mutated));
            if (result.GetValue(diff))
            {
                var before = YamlJson.WriteDocuments(documents.Select(d => d.Original));
                Console.Out.Write(LineDiff.Unified(before, after));
            }
            else
            {
                Console.Out.Write(after);
            }

            foreach (var warning in documents.SelectMany(d => d.Decision.Warnings.Concat(d.PodDecision?.Warnings ?? [])))
            {
                Console.Error.WriteLine("Warning: " + warning);
            }

            return documents.Any(d => d.Decision.Outcome == AdmissionOutcome.Denied || d.PodDecision?.Outcome == AdmissionOutcome.Denied) ? 3 : 0;
        }));
        return command;
    }

    private static Command CreateExplain()
    {
        var common = CommonOptions.Create();
        var command = new Command("explain", "Say, per document, which sidecars and rewrites the webhook applies and why");
        common.AddTo(command);
        command.SetAction(result => Guard(() =>
        {
            Console.Out.Write(Explainer.Render(common.Run(result)));
            return 0;
        }));
        return command;
    }

    private static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or FormatException or InvalidDataException or UnauthorizedAccessException or JsonPatchException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }

    private static InjectionOptions LoadOptions(string? configFile)
    {
        var options = new InjectionOptions();
        if (configFile is not null)
        {
            var builder = new ConfigurationManager();
            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false);
            DeprecatedKeys.Apply(builder, builder, DeprecatedKeys.Webhook);
            builder.GetSection(InjectionOptions.Section).Bind(options);
        }

        var failures = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), failures, validateAllProperties: true);
        var messages = failures.Select(f => $"{InjectionOptions.Section}:{string.Join(",", f.MemberNames)}: {f.ErrorMessage}").ToList();
        var result = new InjectionOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            messages.AddRange(result.Failures);
        }

        if (messages.Count > 0)
        {
            throw new InvalidDataException("invalid configuration: " + string.Join("; ", messages));
        }

        return options;
    }

    private static Dictionary<string, string> ParseLabels(string[]? values)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (values is null || values.Length == 0)
        {
            labels[SidecarsLabels.NamespaceInjection] = SidecarsLabels.NamespaceInjectionEnabled;
            return labels;
        }

        foreach (var pair in values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"--namespace-labels '{pair}' is not key=value");
            }

            labels[pair[..eq]] = pair[(eq + 1)..];
        }

        return labels;
    }
}
