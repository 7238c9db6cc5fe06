using Sidecars.Testing;

namespace Sidecars.Clusters.Tests;

[CollectionDefinition(Name)]
public sealed class ControlPlaneCollection : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "local control plane";
}
