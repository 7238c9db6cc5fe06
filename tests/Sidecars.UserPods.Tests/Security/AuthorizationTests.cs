using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using Sidecars.UserPods.Configuration;
using Sidecars.UserPods.Grpc;
using Sidecars.UserPods.Security;

namespace Sidecars.UserPods.Tests;

public sealed class AuthorizationTests
{
    private static readonly ApiKeyAuthenticator Authenticator = new(Options.Create(Configure()));

    [Fact]
    public void A_known_key_maps_to_its_user()
    {
        var caller = Authenticator.Authenticate("Bearer alice-key-0123456789");
        Assert.Equal(new Caller("alice@example.org", false), caller);
        Assert.True(Authenticator.Authenticate("bearer operator-key-0123456789")!.IsOperator);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("alice-key-0123456789")]
    [InlineData("Basic alice-key-0123456789")]
    [InlineData("Bearer alice-key-012345678")]
    public void Missing_or_unknown_keys_authenticate_nobody(string? header) => Assert.Null(Authenticator.Authenticate(header));

    [Fact]
    public void A_user_acts_only_for_itself()
    {
        var alice = new Caller("alice@example.org", false);
        alice.EnsureMayActFor("alice@example.org");
        var e = Assert.Throws<UserPodsException>(() => alice.EnsureMayActFor("bob@example.org"));
        Assert.Equal(UserPodsError.PermissionDenied, e.Error);
        Assert.Contains("only for its own user_id", e.Message);
        Assert.False(alice.MayActFor("Alice@example.org"));
    }

    [Fact]
    public void An_operator_acts_for_everyone() => new Caller("portal", true).EnsureMayActFor("bob@example.org");

    [Fact]
    public void Settings_must_be_objects_of_strings()
    {
        var good = Struct.Parser.ParseJson("""{"jupyter": {"A": "1", "B": "two"}}""");
        Assert.Equal("two", UserPodsGrpcService.Settings(good)!["jupyter"]["B"]);
        Assert.Null(UserPodsGrpcService.Settings(new Struct()));

        var number = Struct.Parser.ParseJson("""{"jupyter": {"A": 1}}""");
        Assert.Contains("settings.jupyter.A must be a string", Assert.Throws<UserPodsException>(() => UserPodsGrpcService.Settings(number)).Message);
        var flat = Struct.Parser.ParseJson("""{"A": "1"}""");
        Assert.Contains("settings.A must be an object", Assert.Throws<UserPodsException>(() => UserPodsGrpcService.Settings(flat)).Message);
    }

    private static UserPodsOptions Configure()
    {
        var options = new UserPodsOptions();
        options.Callers.Add(new UserPodsCaller { Key = "alice-key-0123456789", UserId = "alice@example.org" });
        options.Callers.Add(new UserPodsCaller { Key = "operator-key-0123456789", UserId = "portal", Operator = true });
        return options;
    }
}
