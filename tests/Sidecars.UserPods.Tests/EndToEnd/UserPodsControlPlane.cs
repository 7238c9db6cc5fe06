using Sidecars.Testing;

namespace Sidecars.UserPods.Tests.EndToEnd;

[CollectionDefinition(Name)]
public sealed class UserPodsControlPlane : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "user pods on the local control plane";
}
