using Sidecars.Identity.Attestation;
using Xunit;

namespace Sidecars.Identity.Tests;

public sealed class ReplicaAttestationRulesTests
{
    private static readonly AttestedPod Web0 = new("team", "web-0", "uid-0", "my-service");

    [Fact]
    public void A_pod_may_hold_only_its_own_replica_of_the_application_it_declares()
    {
        Assert.Null(ReplicaAttestationRules.Refusal(Web0, "web-0", "my-service"));

        var sibling = ReplicaAttestationRules.Refusal(Web0, "web-1", "my-service");
        Assert.Equal("the caller is pod team/web-0: it may seek only its own replica blessing 'web-0', not 'web-1'", sibling);

        var otherApp = ReplicaAttestationRules.Refusal(Web0, "web-0", "billing");
        Assert.Equal("pod team/web-0 is annotated sidecars.io/blessing=my-service; the secret blesses 'billing'", otherApp);

        var undeclared = ReplicaAttestationRules.Refusal(Web0 with { Blessing = null }, "web-0", "my-service");
        Assert.Equal("pod team/web-0 has no sidecars.io/blessing annotation; the secret blesses 'my-service'", undeclared);

        // Names compare exactly: no case folding.
        Assert.NotNull(ReplicaAttestationRules.Refusal(Web0, "WEB-0", "my-service"));
    }
}
