using System.Globalization;
using Sidecars.Conventions;

namespace Sidecars.PodAgent;

/// <summary>Parses pod-agent arguments (<c>--name value</c> or <c>--name=value</c>) with environment fallbacks.</summary>
public static class PodAgentOptionsParser
{
    public const string Usage = """
        usage: sidecars-agent pod-agent [options]
          --socket PATH            Unix socket for the pod's apps (SIDECARS_AGENT_SOCKET, default /var/run/sidecars/agent.sock)
          --secret-file PATH       the application's secret (SIDECARS_SECRET_FILE, default /var/run/sidecars-secret/secret)
          --blessing EXT           expected application extension (SIDECARS_BLESSING)
          --cluster-agent URL      cluster agent gRPC address (SIDECARS_CLUSTER_AGENT)
          --cluster-agent-ca PATH  PEM of the CA of the cluster agent's TLS certificate (SIDECARS_CLUSTER_AGENT_CA)
          --allow-insecure         allow plaintext HTTP/2 to a non-loopback cluster agent
          --pod-name NAME          replica name (POD_NAME)
          --pod-ip IP              address of the health endpoint (POD_IP, default 127.0.0.1)
          --health-port N          port of /healthz, /readyz, /metrics (default 9090, 0 = none)
          --renew-at F             renew after this fraction of the lifetime (default 0.667)
          --wait-ready             wait until the socket serves blessings, then exit 0
          --timeout SECONDS        how long --wait-ready waits (default 60)
          --tls-dir PATH           also write tls.crt, tls.key, ca.crt there after each issuance (SIDECARS_TLS_DIR)
          --exit-when-apps-done    exit 0 once the pod's app containers have finished (watches the pod; Jobs)
          --token-dir PATH         serve the token files there as GET /token/<key> (SIDECARS_TOKEN_DIR)
          --token-byte-limit N     largest token served (default 65536)
          --tokens-only            serve only health, metrics and tokens (no secret or blessing)
        """;

    private static readonly HashSet<string> Flags = ["allow-insecure", "wait-ready", "exit-when-apps-done", "tokens-only"];

    public static bool TryParse(IReadOnlyList<string> args, Func<string, string?> environment, out PodAgentOptions? options, out string? error)
    {
        options = null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                error = $"unexpected argument '{arg}'";
                return false;
            }

            var name = arg[2..];
            string value;
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                value = name[(equals + 1)..];
                name = name[..equals];
            }
            else if (Flags.Contains(name))
            {
                value = "true";
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                error = $"option --{name} needs a value";
                return false;
            }

            values[name] = value;
        }

        string? Get(string name, string? env) =>
            values.TryGetValue(name, out var v) ? v : env is null ? null : NullIfEmpty(environment(env));

        var known = new HashSet<string>(Flags, StringComparer.Ordinal)
        {
            "socket", "secret-file", "blessing", "cluster-agent", "cluster-agent-ca", "pod-name", "pod-ip", "health-port", "renew-at", "timeout",
            "tls-dir",
            "token-dir", "token-byte-limit",
        };
        if (values.Keys.FirstOrDefault(k => !known.Contains(k)) is { } unknown)
        {
            error = $"unknown option --{unknown}";
            return false;
        }

        Uri? clusterAgent = null;
        if (Get("cluster-agent", SidecarsNames.ClusterAgentEnv) is { } address)
        {
            if (!address.Contains("://", StringComparison.Ordinal))
            {
                address = "https://" + address;
            }

            if (!Uri.TryCreate(address, UriKind.Absolute, out clusterAgent) || clusterAgent.Scheme is not ("http" or "https"))
            {
                error = $"--cluster-agent '{address}' is not an http(s) URL";
                return false;
            }
        }

        if (!TryInt(Get("health-port", null), SidecarsNames.PodAgentHealthPort, 0, 65535, out var healthPort)
            || !TryDouble(Get("renew-at", null), 2.0 / 3.0, out var renewAt) || renewAt is <= 0.05 or >= 0.95
            || !TryInt(Get("timeout", null), 60, 1, 86400, out var timeout)
            || !TryInt(Get("token-byte-limit", null), 64 * 1024, 1, 16 * 1024 * 1024, out var tokenByteLimit))
        {
            error = "--health-port must be 0-65535, --renew-at between 0.05 and 0.95, --timeout 1-86400 seconds, --token-byte-limit 1-16777216";
            return false;
        }

        options = new PodAgentOptions
        {
            Socket = Get("socket", SidecarsNames.SocketEnv) ?? PodAgentOptions.DefaultSocket,
            SecretFile = Get("secret-file", "SIDECARS_SECRET_FILE") ?? PodAgentOptions.DefaultSecretFile,
            Blessing = Get("blessing", "SIDECARS_BLESSING"),
            ClusterAgent = clusterAgent,
            ClusterAgentCa = Get("cluster-agent-ca", "SIDECARS_CLUSTER_AGENT_CA"),
            AllowInsecure = IsTrue(Get("allow-insecure", "SIDECARS_ALLOW_INSECURE")),
            PodName = Get("pod-name", SidecarsNames.PodNameEnv),
            PodIp = Get("pod-ip", SidecarsNames.PodIpEnv) ?? "127.0.0.1",
            HealthPort = healthPort,
            RenewAt = renewAt,
            WaitReady = IsTrue(Get("wait-ready", null)),
            WaitTimeout = TimeSpan.FromSeconds(timeout),
            ExitWhenAppsDone = IsTrue(Get("exit-when-apps-done", null)),
            TlsDirectory = Get("tls-dir", "SIDECARS_TLS_DIR"),
            TokenDirectory = Get("token-dir", SidecarsNames.TokenDirectoryEnv),
            TokenByteLimit = tokenByteLimit,
            TokensOnly = IsTrue(Get("tokens-only", null)),
        };

        if (!options.WaitReady && !options.TokensOnly)
        {
            if (options.ClusterAgent is null)
            {
                error = "--cluster-agent (or SIDECARS_CLUSTER_AGENT) is required";
                return false;
            }

            if (string.IsNullOrEmpty(options.PodName))
            {
                error = "--pod-name (or POD_NAME) is required";
                return false;
            }

            if (options.ClusterAgent.Scheme == "http" && !options.ClusterAgent.IsLoopback && !options.AllowInsecure)
            {
                error = $"refusing to send the secret in plaintext to {options.ClusterAgent}: use https (with --cluster-agent-ca) or --allow-insecure";
                return false;
            }
        }

        error = null;
        return true;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static bool IsTrue(string? value) => value is not null && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));

    private static bool TryInt(string? text, int fallback, int min, int max, out int value)
    {
        value = fallback;
        return text is null || (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value) && value >= min && value <= max);
    }

    private static bool TryDouble(string? text, double fallback, out double value)
    {
        value = fallback;
        return text is null || double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }
}
