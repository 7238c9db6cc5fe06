using Sidecars.Testing;

namespace Sidecars.Faults.Tests.ControlPlane;

/// <summary>
/// One local control plane for the fault tests. Its components are stopped and started by the tests, so they run one
/// after another (one collection), each leaving the control plane whole.
/// </summary>
[CollectionDefinition(Name)]
public sealed class FaultsCollection : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "faults control plane";
}
