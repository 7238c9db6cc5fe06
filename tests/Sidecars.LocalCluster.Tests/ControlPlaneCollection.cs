using Sidecars.Testing;
using Xunit;

namespace Sidecars.LocalCluster.Tests;

[CollectionDefinition(Name)]
public sealed class ControlPlaneCollection : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "local control plane";
}
