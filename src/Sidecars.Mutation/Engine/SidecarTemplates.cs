using System.Globalization;
using System.Text.Json.Nodes;

namespace Sidecars.Mutation;

/// <summary>What to inject for one pod: the choices that vary per pod.</summary>
internal sealed record SidecarRequest(
    string Blessing,
    bool ExitWhenAppsDone,
    string NetworkId,
    IReadOnlyDictionary<string, string>? RequestOverrides,
    IReadOnlyDictionary<string, string>? LimitOverrides);

/// <summary>Builds the injected containers and volumes as JSON (fresh nodes per call: patch values own their nodes).</summary>
internal sealed class SidecarTemplates(InjectionOptions options, string agentImage)
{
    private readonly string _lightpeerPort = options.LightpeerPort.ToString(CultureInfo.InvariantCulture);
    private readonly string _agentHealthPort = SidecarsNames.PodAgentHealthPort.ToString(CultureInfo.InvariantCulture);
    private readonly string _peerHealthPort = SidecarsNames.LightpeerHealthPort.ToString(CultureInfo.InvariantCulture);

    public JsonObject PodAgent(SidecarRequest request)
    {
        var args = new JsonArray(
            "pod-agent",
            "--socket", SidecarsNames.SocketPath,
            "--secret-file", SidecarsNames.SecretDirectory + "/" + SidecarsNames.SecretKey,
            "--blessing", request.Blessing,
            "--health-port", _agentHealthPort);
        if (request.ExitWhenAppsDone)
        {
            args.Add("--exit-when-apps-done");
        }

        var container = new JsonObject
        {
            ["name"] = SidecarsNames.PodAgentContainer,
            ["image"] = agentImage,
            ["args"] = args,
            ["env"] = CommonEnv(),
            ["ports"] = new JsonArray(Port(SidecarsNames.PodAgentHealthPortName, SidecarsNames.PodAgentHealthPort)),
            ["readinessProbe"] = HttpProbe("/readyz", SidecarsNames.PodAgentHealthPortName, options.Probes.FailureThreshold, options.Probes.PeriodSeconds),
            ["resources"] = Resources(options.PodAgent, request),
            ["securityContext"] = SecurityContext(),
            ["volumeMounts"] = new JsonArray(
                SocketMount(),
                new JsonObject
                {
                    ["name"] = SidecarsNames.SecretVolume,
                    ["mountPath"] = SidecarsNames.SecretDirectory,
                    ["readOnly"] = true,
                }),
        };
        AddLiveness(container, SidecarsNames.PodAgentHealthPortName);

        if (options.NativeSidecars)
        {
            // A native sidecar counts as started once its startup probe passes: later containers wait for a ready agent.
            container["startupProbe"] = HttpProbe("/readyz", SidecarsNames.PodAgentHealthPortName, options.Probes.StartupFailureThreshold, 1);
            container["restartPolicy"] = "Always";
        }
        else
        {
            // The kubelet runs a container's postStart hook before it starts the next container, so with the agent
            // first, this hook (which returns once the agent reports ready) holds the app containers back.
            container["lifecycle"] = new JsonObject
            {
                ["postStart"] = new JsonObject
                {
                    ["exec"] = new JsonObject
                    {
                        ["command"] = new JsonArray(options.AgentBinary, "pod-agent", "--wait-ready", "--health-port", _agentHealthPort),
                    },
                },
            };
        }

        return container;
    }

    public JsonObject Lightpeer(SidecarRequest request)
    {
        var args = new JsonArray("lightpeer", "--port", _lightpeerPort, "--health-port", _peerHealthPort);
        if (request.ExitWhenAppsDone)
        {
            args.Add("--exit-when-apps-done");
        }

        var env = CommonEnv();
        env.Add(Env("KLIGHT_NETWORK_ID", request.NetworkId));
        var container = new JsonObject
        {
            ["name"] = SidecarsNames.LightpeerContainer,
            ["image"] = agentImage,
            ["args"] = args,
            ["env"] = env,
            ["ports"] = new JsonArray(
                Port(SidecarsNames.LightpeerPortName, options.LightpeerPort),
                Port(SidecarsNames.LightpeerHealthPortName, SidecarsNames.LightpeerHealthPort)),
            ["readinessProbe"] = HttpProbe("/readyz", SidecarsNames.LightpeerHealthPortName, options.Probes.FailureThreshold, options.Probes.PeriodSeconds),
            ["resources"] = Resources(options.Lightpeer, request),
            ["securityContext"] = SecurityContext(),
        };
        AddLiveness(container, SidecarsNames.LightpeerHealthPortName);
        if (options.NativeSidecars)
        {
            container["restartPolicy"] = "Always";
        }

        return container;
    }

    public static JsonObject SocketVolume() => new()
    {
        ["name"] = SidecarsNames.SocketVolume,
        ["emptyDir"] = new JsonObject(),
    };

    public static JsonObject SecretVolume(string secretName) => new()
    {
        ["name"] = SidecarsNames.SecretVolume,
        ["secret"] = new JsonObject
        {
            ["secretName"] = secretName,
        },
    };

    public static JsonObject SocketMount() => new()
    {
        ["name"] = SidecarsNames.SocketVolume,
        ["mountPath"] = SidecarsNames.SocketDirectory,
    };

    public static JsonObject Env(string name, string value) => new() { ["name"] = name, ["value"] = value };

    private JsonArray CommonEnv()
    {
        var env = new JsonArray(
            FieldEnv(SidecarsNames.PodNameEnv, "metadata.name"),
            FieldEnv(SidecarsNames.PodNamespaceEnv, "metadata.namespace"),
            FieldEnv(SidecarsNames.PodIpEnv, "status.podIP"));
        if (options.ClusterAgentAddress.Length > 0)
        {
            env.Add(Env(SidecarsNames.ClusterAgentEnv, options.ClusterAgentAddress));
        }

        return env;
    }

    private static JsonObject FieldEnv(string name, string fieldPath) => new()
    {
        ["name"] = name,
        ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = fieldPath } },
    };

    private static JsonObject Port(string name, int port) => new()
    {
        ["name"] = name,
        ["containerPort"] = port,
        ["protocol"] = "TCP",
    };

    private JsonObject HttpProbe(string path, string port, int failureThreshold, int periodSeconds)
    {
        var probe = new JsonObject
        {
            ["httpGet"] = new JsonObject { ["path"] = path, ["port"] = port },
        };
        if (options.Probes.InitialDelaySeconds > 0)
        {
            probe["initialDelaySeconds"] = options.Probes.InitialDelaySeconds;
        }

        probe["periodSeconds"] = periodSeconds;
        probe["timeoutSeconds"] = options.Probes.TimeoutSeconds;
        probe["failureThreshold"] = failureThreshold;
        return probe;
    }

    private void AddLiveness(JsonObject container, string port)
    {
        if (options.Probes.Liveness)
        {
            container["livenessProbe"] = HttpProbe("/healthz", port, options.Probes.LivenessFailureThreshold, options.Probes.LivenessPeriodSeconds);
        }
    }

    private static JsonObject Resources(SidecarResources defaults, SidecarRequest request) => new()
    {
        ["requests"] = Merge(defaults.Requests, request.RequestOverrides),
        ["limits"] = Merge(defaults.Limits, request.LimitOverrides),
    };

    private static JsonObject Merge(IReadOnlyDictionary<string, string> defaults, IReadOnlyDictionary<string, string>? overrides)
    {
        var merged = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, quantity) in defaults)
        {
            merged[name] = quantity;
        }

        foreach (var (name, quantity) in overrides ?? new Dictionary<string, string>())
        {
            merged[name] = quantity;
        }

        var json = new JsonObject();
        foreach (var (name, quantity) in merged)
        {
            json[name] = quantity;
        }

        return json;
    }

    private JsonObject SecurityContext()
    {
        var security = options.SecurityContext;
        var context = new JsonObject
        {
            ["allowPrivilegeEscalation"] = security.AllowPrivilegeEscalation,
            ["readOnlyRootFilesystem"] = security.ReadOnlyRootFilesystem,
            ["runAsNonRoot"] = security.RunAsNonRoot,
        };
        if (security.RunAsUser is { } user)
        {
            context["runAsUser"] = user;
        }

        if (security.DropAllCapabilities)
        {
            context["capabilities"] = new JsonObject { ["drop"] = new JsonArray("ALL") };
        }

        if (security.SeccompRuntimeDefault)
        {
            context["seccompProfile"] = new JsonObject { ["type"] = "RuntimeDefault" };
        }

        return context;
    }
}
