using Sidecars.AgentLifecycle;
using Sidecars.Lightpeer;
using Sidecars.PodAgent;

namespace Sidecars.AgentLifecycle.Tests;

/// <summary>The one argument parser of both agent roles.</summary>
public sealed class AgentArgumentsTests
{
    [Theory]
    [InlineData("--port 7000", "7000")]
    [InlineData("--port=7000", "7000")]
    [InlineData("", "from-section")]
    public void A_value_comes_from_the_command_line_then_the_section_variable_then_the_older_variable(string args, string expected)
    {
        var environment = new Dictionary<string, string> { ["Sidecars__Lightpeer__Port"] = "from-section", ["POD_IP"] = "127.0.0.9" };
        var parsed = AgentArguments.Parse("Lightpeer", LightpeerOptions.Options, Split(args), environment.GetValueOrDefault);

        Assert.Equal(expected, parsed.Get("port"));
        Assert.Equal("127.0.0.9", parsed.Get("address"));
    }

    [Theory]
    [InlineData("--bogus 1", "unknown option --bogus")]
    [InlineData("--port", "option --port needs a value")]
    [InlineData("port 1", "unexpected argument 'port'")]
    [InlineData("--port 0", "--port: '0' is not a whole number from 1 to 65535")]
    [InlineData("--check-interval -1", "--check-interval: '-1' is not a positive number of seconds")]
    public void Both_roles_report_the_same_errors_naming_the_option(string args, string message)
    {
        var lightpeer = Assert.Throws<FormatException>(() => LightpeerOptions.Parse(Split(args), name => name == "POD_IP" ? "127.0.0.1" : null));
        Assert.Equal(message, lightpeer.Message);

        if (!args.StartsWith("--check-interval", StringComparison.Ordinal) && !args.StartsWith("--port 0", StringComparison.Ordinal))
        {
            Assert.False(PodAgentOptionsParser.TryParse(Split(args.Replace("port", "health-port", StringComparison.Ordinal)), _ => null, out _, out var error));
            Assert.Equal(message.Replace("port", "health-port", StringComparison.Ordinal), error);
        }
    }

    [Fact]
    public void Flags_take_no_value_and_the_pod_agent_reads_its_section_variables()
    {
        var environment = new Dictionary<string, string>
        {
            ["Sidecars__PodAgent__ClusterAgent"] = "http://127.0.0.1:8081",
            ["Sidecars__PodAgent__HealthPort"] = "0",
            ["POD_NAME"] = "web-0",
        };
        Assert.True(PodAgentOptionsParser.TryParse(["--tokens-only", "--token-dir", "/t"], environment.GetValueOrDefault, out var options, out var error), error);
        Assert.True(options!.TokensOnly);
        Assert.Equal("/t", options.TokenDirectory);
        Assert.Equal(0, options.HealthPort);
        Assert.Equal(new Uri("http://127.0.0.1:8081"), options.ClusterAgent);
        Assert.Equal("web-0", options.PodName);
    }

    [Fact]
    public void Usage_lists_every_option_of_a_role_with_its_variables()
    {
        var usage = PodAgentOptionsParser.Usage;
        Assert.StartsWith("usage: sidecars-agent pod-agent [options]", usage);
        foreach (var option in PodAgentOptionsParser.Options)
        {
            Assert.Contains("--" + option.Name, usage);
        }

        Assert.Contains("(Sidecars__PodAgent__Socket; SIDECARS_AGENT_SOCKET)", usage);
        Assert.Contains("(Sidecars__Lightpeer__HealthPort)", LightpeerOptions.Usage);
    }

    private static string[] Split(string args) => args.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
