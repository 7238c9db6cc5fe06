using System.CommandLine;
using Sidecars.Conventions;

namespace Sidecars.Cli.Commands;

/// <summary><c>owner-name NAME</c>: the owner label value and claim name fragment of a user name.</summary>
internal static class OwnerNameCommand
{
    public static void AddTo(RootCommand root)
    {
        var name = new Argument<string>("name") { Description = "User name (Kubernetes user or user-pods user_id)" };
        var command = new Command("owner-name", "Print the owner label value and the storage claim name fragment of a user name");
        command.Arguments.Add(name);
        command.SetAction(result =>
        {
            var user = result.GetValue(name) ?? string.Empty;
            Console.Out.WriteLine($"label: {OwnerNames.ToLabelValue(user)}");
            Console.Out.WriteLine($"claim: {OwnerNames.ToDnsLabel(user)}");
            return 0;
        });
        root.Subcommands.Add(command);
    }
}
