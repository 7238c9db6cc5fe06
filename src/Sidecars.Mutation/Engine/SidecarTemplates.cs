using System.Globalization;
using System.Text.Json.Nodes;

namespace Sidecars.Mutation;

/// <summary>What to inject for one pod: the choices that vary per pod.</summary>
internal sealed record SidecarRequest(
    string Blessing,
    bool ExitWhenAppsDone,
    string NetworkId,
    IReadOnlyDictionary<string, string>? RequestOverrides,
    IReadOnlyDictionary<string, string>? LimitOverrides)
{
    /// <summary>The token volume's mount path when the pod collects tokens; the pod-agent serves it.</summary>
    public string? TokenDirectory { get; init; }

    /// <summary>A pod-agent without identity (copy-token but no blessing): health, metrics and tokens only.</summary>
    public bool TokensOnly { get; init; }

    /// <summary>The pod's service account token mount, copied into the sidecars that watch their pod to exit.</summary>
    public (string Volume, string MountPath)? ServiceAccount { get; init; }
}

/// <summary>Builds the injected containers and volumes as JSON (fresh nodes per call: patch values own their nodes).</summary>
internal sealed class SidecarTemplates(InjectionOptions options, string agentImage)
{
    private readonly string _lightpeerPort = options.LightpeerPort.ToString(CultureInfo.InvariantCulture);
    private readonly string _agentHealthPort = SidecarsNames.PodAgentHealthPort.ToString(CultureInfo.InvariantCulture);
    private readonly string _peerHealthPort = SidecarsNames.LightpeerHealthPort.ToString(CultureInfo.InvariantCulture);

    public JsonObject PodAgent(SidecarRequest request)
    {
        var args = request.TokensOnly
            ? new JsonArray("pod-agent", "--tokens-only", "--health-port", _agentHealthPort)
            : new JsonArray(
                "pod-agent",
                "--socket", SidecarsNames.SocketPath,
                "--secret-file", SidecarsNames.SecretDirectory + "/" + SidecarsNames.SecretKey,
                "--blessing", request.Blessing,
                "--health-port", _agentHealthPort);
        var mounts = request.TokensOnly
            ? new JsonArray()
            : new JsonArray(
                SocketMount(),
                new JsonObject
                {
                    ["name"] = SidecarsNames.SecretVolume,
                    ["mountPath"] = SidecarsNames.SecretDirectory,
                    ["readOnly"] = true,
                });
        if (request.TokenDirectory is { } tokens)
        {
            args.Add("--token-dir");
            args.Add(tokens);
            mounts.Add(TokenMount(tokens, readOnly: true));
        }

        var env = CommonEnv();
        AddExitWhenAppsDone(request, args, env, mounts);
        var container = new JsonObject
        {
            ["name"] = SidecarsNames.PodAgentContainer,
            ["image"] = agentImage,
            ["args"] = args,
            ["env"] = env,
            ["ports"] = new JsonArray(Port(SidecarsNames.PodAgentHealthPortName, SidecarsNames.PodAgentHealthPort)),
            ["readinessProbe"] = HttpProbe("/readyz", SidecarsNames.PodAgentHealthPortName, options.Probes.FailureThreshold, options.Probes.PeriodSeconds),
            ["resources"] = Resources(options.PodAgent, request),
            ["securityContext"] = SecurityContext(),
            ["volumeMounts"] = mounts,
        };
        AddLiveness(container, SidecarsNames.PodAgentHealthPortName);
        if (request.TokensOnly)
        {
            // Without an identity there is nothing for the app containers to wait for: no startup ordering.
            if (options.NativeSidecars)
            {
                container["restartPolicy"] = "Always";
            }

            return container;
        }

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
        var env = CommonEnv();
        env.Add(Env("KLIGHT_NETWORK_ID", request.NetworkId));
        var mounts = new JsonArray();
        AddExitWhenAppsDone(request, args, env, mounts);
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
        if (mounts.Count > 0)
        {
            container["volumeMounts"] = mounts;
        }

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

    /// <summary>The shared token volume: memory-backed, small, written by the first app container.</summary>
    public static JsonObject TokenVolume(string sizeLimit) => new()
    {
        ["name"] = SidecarsNames.TokenVolume,
        ["emptyDir"] = new JsonObject { ["medium"] = "Memory", ["sizeLimit"] = sizeLimit },
    };

    public static JsonObject TokenMount(string directory, bool readOnly)
    {
        var mount = new JsonObject { ["name"] = SidecarsNames.TokenVolume, ["mountPath"] = directory };
        if (readOnly)
        {
            mount["readOnly"] = true;
        }

        return mount;
    }

    public static JsonObject SocketMount() => new()
    {
        ["name"] = SidecarsNames.SocketVolume,
        ["mountPath"] = SidecarsNames.SocketDirectory,
    };

    public static JsonObject Env(string name, string value) => new() { ["name"] = name, ["value"] = value };

    /// <summary>
    /// A sidecar that exits when the apps finish watches its own pod, so it needs the service account token that the
    /// ServiceAccount admission plugin mounted into the app containers only (it runs before webhooks).
    /// </summary>
    private static void AddExitWhenAppsDone(SidecarRequest request, JsonArray args, JsonArray env, JsonArray mounts)
    {
        if (!request.ExitWhenAppsDone)
        {
            return;
        }

        args.Add("--exit-when-apps-done");
        if (request.ServiceAccount is not { } account)
        {
            return;
        }

        env.Add(Env(SidecarsNames.ServiceAccountDirectoryEnv, account.MountPath));
        mounts.Add(new JsonObject { ["name"] = account.Volume, ["mountPath"] = account.MountPath, ["readOnly"] = true });
    }

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
