using Sidecars.Testing;

namespace Sidecars.Identity.EndToEnd.Tests;

[CollectionDefinition(Name)]
public sealed class IdentityCollection : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "identity control plane";
}
