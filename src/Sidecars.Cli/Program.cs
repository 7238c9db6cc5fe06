using System.CommandLine;

var root = new RootCommand("sidecarsctl: identity, networks and wiring for Kubernetes pods");
// Command groups (one line each).
Sidecars.Cli.Commands.ClusterCommands.AddTo(root);
Sidecars.Cli.Commands.IdentityCommands.AddTo(root);
Sidecars.Cli.Commands.InjectCommands.AddTo(root);
Sidecars.Cli.Commands.DemoCommand.AddTo(root);
Sidecars.Cli.Commands.OwnerNameCommand.AddTo(root);
Sidecars.Cli.Commands.ConfigCommands.AddTo(root);
Sidecars.Cli.Commands.KubectlCommand.AddTo(root);
Sidecars.Cli.Commands.StopClusterAgentCommand.AddTo(root);
Sidecars.Cli.Commands.CheckCommand.AddTo(root);

return await root.Parse(args).InvokeAsync();
