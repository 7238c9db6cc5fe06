using System.CommandLine;

var root = new RootCommand("sidecarsctl: identity, networks and wiring for Kubernetes pods");
// Command groups (one line each).
Sidecars.Cli.Commands.ClusterCommands.AddTo(root);
Sidecars.Cli.Commands.IdentityCommands.AddTo(root);
Sidecars.Cli.Commands.InjectCommands.AddTo(root);
Sidecars.Cli.Commands.DemoCommand.AddTo(root);
Sidecars.Cli.Commands.OwnerNameCommand.AddTo(root);

return await root.Parse(args).InvokeAsync();
