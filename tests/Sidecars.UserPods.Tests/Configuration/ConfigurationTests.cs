using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sidecars.UserPods.Configuration;

namespace Sidecars.UserPods.Tests;

[Collection(EnvironmentCollection.Name)]
public sealed class ConfigurationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("userpods-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Yaml_file_is_bound_to_the_options()
    {
        var options = Bind(Write("""
            namespace: portal-pods
            createTimeout: "00:02:30"
            manifestWhitelist: 'https://example\.org/.*\.yaml'
            tokenByteLimit: 100
            ingressDomain: pods.example.org
            ingressTlsSecret: wildcard-tls
            registryUrl: registry.example.org:5000/sciencedata
            registryPullSecret: regcred
            callers:
              - key: 0123456789abcdef-portal
                userId: portal@example.org
                operator: true
            """));

        Assert.Equal("portal-pods", options.Namespace);
        Assert.Equal(TimeSpan.FromSeconds(150), options.CreateTimeout);
        Assert.Equal(100, options.TokenByteLimit);
        Assert.Equal("wildcard-tls", options.IngressTlsSecret);
        Assert.Equal("registry.example.org:5000/sciencedata", options.RegistryUrl);
        var caller = Assert.Single(options.Callers);
        Assert.Equal("portal@example.org", caller.UserId);
        Assert.True(caller.Operator);
    }

    [Fact]
    public void Environment_variables_override_the_file()
    {
        var path = Write("ingressDomain: from-file.example.org\ntokenByteLimit: 100\n");
        Environment.SetEnvironmentVariable("SIDECARS_INGRESSDOMAIN", "from-env.example.org");
        Environment.SetEnvironmentVariable("SIDECARS_TOKENBYTELIMIT", "200");
        try
        {
            var options = Bind(path);
            Assert.Equal("from-env.example.org", options.IngressDomain);
            Assert.Equal(200, options.TokenByteLimit);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SIDECARS_INGRESSDOMAIN", null);
            Environment.SetEnvironmentVariable("SIDECARS_TOKENBYTELIMIT", null);
        }
    }

    [Fact]
    public void The_original_APIs_names_durations_and_BACKEND_variables_are_accepted_and_ours_win()
    {
        var path = Write("""
            timeoutCreate: 90s
            timeoutDelete: 1h2m3s
            whitelistManifestRegex: 'https://example\.org/.*\.yaml'
            localRegistryURL: registry.example.org
            ingressWildCardSecret: wildcard-tls
            ingressDomain: from-file.example.org
            """);
        Environment.SetEnvironmentVariable("BACKEND_INGRESSDOMAIN", "from-backend.example.org");
        Environment.SetEnvironmentVariable("BACKEND_TOKENBYTELIMIT", "300");
        Environment.SetEnvironmentVariable("SIDECARS_TOKENBYTELIMIT", "400");
        Environment.SetEnvironmentVariable("Sidecars__UserPods__RegistryPullSecret", "regcred");
        try
        {
            var options = Bind(path);
            Assert.Equal(TimeSpan.FromSeconds(90), options.CreateTimeout);
            Assert.Equal(new TimeSpan(1, 2, 3), options.DeleteTimeout);
            Assert.Equal(@"https://example\.org/.*\.yaml", options.ManifestWhitelist);
            Assert.Equal("registry.example.org", options.RegistryUrl);
            Assert.Equal("wildcard-tls", options.IngressTlsSecret);
            Assert.Equal("from-backend.example.org", options.IngressDomain);
            Assert.Equal(400, options.TokenByteLimit);
            Assert.Equal("regcred", options.RegistryPullSecret);
        }
        finally
        {
            Environment.SetEnvironmentVariable("BACKEND_INGRESSDOMAIN", null);
            Environment.SetEnvironmentVariable("BACKEND_TOKENBYTELIMIT", null);
            Environment.SetEnvironmentVariable("SIDECARS_TOKENBYTELIMIT", null);
            Environment.SetEnvironmentVariable("Sidecars__UserPods__RegistryPullSecret", null);
        }
    }

    [Fact]
    public void Invalid_values_fail_validation_naming_each_key()
    {
        var path = Write("""
            namespace: Not_A_Namespace
            createTimeout: "-00:00:01"
            manifestWhitelist: '(unclosed'
            tokenByteLimit: 0
            ingressDomain: 'bad domain'
            registryUrl: 'not a registry'
            storageClaimTemplate: fixed-name
            tokenClientCertificateFile: /var/run/tls/tls.crt
            callers:
              - key: short
                userId: ''
            """);

        var e = Assert.Throws<OptionsValidationException>(() => Bind(path));
        var message = string.Join("\n", e.Failures);
        Assert.Contains("Sidecars:UserPods:namespace: 'Not_A_Namespace' is not a valid namespace name", message);
        Assert.Contains("createTimeout: must be a positive duration", message);
        Assert.Contains("manifestWhitelist: not a valid regular expression", message);
        Assert.Contains("tokenByteLimit: must be between 1 and", message);
        Assert.Contains("ingressDomain: 'bad domain' is not a DNS domain", message);
        Assert.Contains("registryUrl: 'not a registry'", message);
        Assert.Contains("storageClaimTemplate: 'fixed-name' must contain {user}", message);
        Assert.Contains("callers:0:key: must be at least 16 characters", message);
        Assert.Contains("callers:0:userId: is required", message);
        Assert.Contains("tokenClientKeyFile: tokenClientCertificateFile and tokenClientKeyFile are set together or not at all", message);
    }

    [Fact]
    public void Defaults_are_valid() => Assert.Equal("sidecars-user-pods", Bind(null).Namespace);

    [Fact]
    public void The_shipped_configuration_reference_names_every_key_with_its_default()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Sidecars.sln")))
        {
            directory = directory.Parent;
        }

        var path = Path.Combine(directory!.FullName, "docs", "user-pods", "config.yaml");
        var text = File.ReadAllText(path);
        var bound = Bind(path);
        var defaults = new UserPodsOptions();
        foreach (var property in typeof(UserPodsOptions).GetProperties().Where(p => p.Name != nameof(UserPodsOptions.ConfigFile)))
        {
            var key = char.ToLowerInvariant(property.Name[0]) + property.Name[1..];
            Assert.Matches($"(?m)^{key}:", text);
            if (property.PropertyType.IsValueType)
            {
                Assert.Equal(property.GetValue(defaults), property.GetValue(bound));
            }
            else if (property.PropertyType == typeof(string))
            {
                // An empty value in the file is how it writes "unset".
                Assert.Equal((string?)property.GetValue(defaults) ?? string.Empty, (string?)property.GetValue(bound) ?? string.Empty);
            }
        }
    }

    [Theory]
    [InlineData("10.0.0.20", null, "", "10.0.0.20")]
    [InlineData("127.0.0.1", null, "10.0.0.20", "10.0.0.20")]
    [InlineData("127.0.0.1", null, "", "127.0.0.1")]
    [InlineData("10.0.0.5", "6.6.6.6, 10.0.0.21", "", "10.0.0.21")]
    [InlineData("10.0.0.9", "10.0.0.21", "", "10.0.0.9")]
    public void The_callers_address_is_its_peer_or_what_a_trusted_proxy_appended(string peer, string? forwardedFor, string testingHost, string expected)
    {
        var options = new UserPodsOptions { TestingHost = testingHost };
        options.TrustedProxies.Add("10.0.0.5");
        options.HostnameList.Add(new HomeServer { Hostname = "silo7.example.org", Address = "10.0.0.21" });

        var address = Sidecars.UserPods.Security.CallerAddress.Resolve(System.Net.IPAddress.Parse(peer).MapToIPv6(), forwardedFor, options);

        Assert.Equal(expected, address?.ToString());
        Assert.Equal(expected == "10.0.0.21" ? "silo7.example.org" : null, Sidecars.UserPods.Security.CallerAddress.HomeServerOf(address, options)?.Hostname);
    }

    [Fact]
    public void Malformed_yaml_names_the_file_and_line()
    {
        var path = Write("namespace: a\n  bad: [indent\n");
        var e = Assert.Throws<InvalidDataException>(() => UserPodsConfiguration.Build(path));
        Assert.Contains("config.yaml", e.Message);
        var reason = Assert.IsType<FormatException>(e.InnerException);
        Assert.Contains("invalid YAML at line 2", reason.Message);
    }

    [Fact]
    public void A_missing_file_is_an_error() =>
        Assert.Throws<FileNotFoundException>(() => UserPodsConfiguration.Build(Path.Combine(_directory, "missing.yaml")));

    private string Write(string yaml)
    {
        var path = Path.Combine(_directory, "config.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static UserPodsOptions Bind(string? path)
    {
        var configuration = UserPodsConfiguration.Build(path);
        var services = new ServiceCollection();
        services.AddOptions<UserPodsOptions>().Bind(configuration.GetSection(UserPodsOptions.Section));
        services.AddSingleton<IValidateOptions<UserPodsOptions>, UserPodsOptionsValidator>();
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<UserPodsOptions>>().Value;
    }
}

/// <summary>Tests that change process environment variables run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "process environment";
}
