using Sidecars.Testing;

namespace Sidecars.Webhook.Tests.EndToEnd;

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "control plane";
}
