using Sidecars.Testing;

namespace Sidecars.Cli.Tests;

[CollectionDefinition(Name)]
public sealed class CliCollection : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "cli control plane";
}
