using System.CommandLine;

var root = new RootCommand("sidecarsctl: identity, networks and wiring for Kubernetes pods");
// Command groups (one line each).

return await root.Parse(args).InvokeAsync();
