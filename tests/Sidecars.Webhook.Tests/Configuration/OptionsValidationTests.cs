using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sidecars.Conventions;

namespace Sidecars.Webhook.Tests.Configuration;

/// <summary>
/// The webhook's settings as the host binds and checks them at start: by generated code (the NativeAOT build has no
/// reflection to fall back on), each failure naming its key and bounds.
/// </summary>
public sealed class OptionsValidationTests
{
    [Fact]
    public void The_defaults_are_valid() =>
        Assert.True(new WebhookOptionsAttributesValidator().Validate(null, new WebhookOptions()).Succeeded);

    [Theory]
    [InlineData("DrainPeriod", "00:00:21", "00:00:20")]
    [InlineData("QueueTimeout", "-00:00:01", "00:00:30")]
    [InlineData("BodyTimeout", "00:00:00.050", "00:00:00.1000000")]
    [InlineData("OverloadQuietPeriod", "01:00:01", "01:00:00")]
    [InlineData("MaxConcurrentReviews", "0", "10000")]
    [InlineData("Address", "", "Address")]
    public void A_setting_out_of_its_bounds_stops_the_start_naming_it(string key, string value, string bound)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [$"{WebhookOptions.Section}:{key}"] = value });
        builder.Services.AddOptions<WebhookOptions>().Bind(builder.Configuration.GetSection(WebhookOptions.Section));
        builder.Services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsAttributesValidator>();
        using var provider = builder.Services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<WebhookOptions>>().Value);

        var message = string.Join(" ", e.Failures);
        Assert.Contains(key, message, StringComparison.Ordinal);
        Assert.Contains(bound, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Durations_and_numbers_are_bound_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{WebhookOptions.Section}:DrainPeriod"] = "00:00:07",
            [$"{WebhookOptions.Section}:MaxConcurrentReviews"] = "3",
            [$"{WebhookOptions.Section}:ClientCertificateNames:0"] = "kube-apiserver",
        }).Build();
        var options = new WebhookOptions();

        configuration.GetSection(WebhookOptions.Section).Bind(options);

        Assert.Equal((TimeSpan.FromSeconds(7), 3, "kube-apiserver"), (options.DrainPeriod, options.MaxConcurrentReviews, Assert.Single(options.ClientCertificateNames)));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("00:00:01", true)]
    [InlineData("00:10:00", true)]
    [InlineData("00:00:00.999", false)]
    [InlineData("00:10:00.001", false)]
    public void A_duration_range_holds_its_bounds_inclusive(string? value, bool valid)
    {
        var range = new TimeSpanRangeAttribute("00:00:01", "00:10:00");
        Assert.Equal(valid, range.IsValid(value is null ? null : TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("The field LeaseDuration must be between 00:00:01 and 00:10:00.", range.FormatErrorMessage("LeaseDuration"));
    }
}
