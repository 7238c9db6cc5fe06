namespace Sidecars.Mutation.Tests;

public sealed class OptionsValidatorTests
{
    private static readonly InjectionOptionsValidator Validator = new();

    [Fact]
    public void Defaults_are_valid() => Assert.True(Validator.Validate(null, new InjectionOptions()).Succeeded);

    [Fact]
    public void Test_options_are_valid() => Assert.True(Validator.Validate(null, Requests.Options()).Succeeded);

    [Theory]
    [InlineData("sidecars/sidecars.json", true)]
    [InlineData("profiles/team a.json", false)]
    [InlineData("/var/lib/kubelet/seccomp/sidecars/sidecars.json", false)]
    [InlineData("sidecars/../../../etc/passwd", false)]
    [InlineData("", false)]
    public void A_Localhost_seccomp_profile_is_a_relative_path_under_the_kubelet_s_seccomp_root(string profile, bool valid)
    {
        var options = new InjectionOptions();
        options.SecurityContext.Seccomp = SidecarSeccomp.Localhost;
        options.SecurityContext.SeccompLocalhostProfile = profile;

        var result = Validator.Validate(null, options);

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Injection:SecurityContext:SeccompLocalhostProfile", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("Registry", "https://registry.example.org")]
    [InlineData("Registry", "registry.example.org/")]
    [InlineData("ImagePullSecret", "Bad_Secret")]
    [InlineData("VolumeName", "Science Data")]
    [InlineData("ClaimNameTemplate", "{owner}_data")]
    [InlineData("PodAgent", "lots")]
    [InlineData("LightpeerPort", "9090")]
    [InlineData("Probes", "0")]
    public void Invalid_settings_fail_naming_the_key(string key, string value)
    {
        var options = new InjectionOptions();
        switch (key)
        {
            case "Registry": options.Registry = value; break;
            case "ImagePullSecret": options.ImagePullSecret = value; break;
            case "VolumeName": options.VolumeName = value; break;
            case "ClaimNameTemplate": options.ClaimNameTemplate = value; break;
            case "PodAgent": options.PodAgent.Limits["memory"] = value; break;
            case "LightpeerPort": options.LightpeerPort = int.Parse(value); break;
            case "Probes": options.Probes.PeriodSeconds = int.Parse(value); break;
        }

        var result = Validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Injection:" + key, result.FailureMessage, StringComparison.Ordinal);
    }
}
