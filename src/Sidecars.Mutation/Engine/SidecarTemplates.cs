using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sidecars.Conventions;

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

    /// <summary>The app containers' service account token mount, copied into the sidecars (see PodMutation).</summary>
    public (string Volume, string MountPath)? ServiceAccount { get; init; }
}

/// <summary>
/// Builds the injected containers and volumes as JSON. Every call returns fresh nodes (patch values own their nodes),
/// but the parts that depend only on configuration (probes, ports, security context, default resources, field env)
/// are built once and handed out as lazy wrappers over a frozen element, so a request allocates only what varies.
/// </summary>
internal sealed class SidecarTemplates
{
    private readonly InjectionOptions _options;
    private readonly string _agentImage;
    private readonly string _lightpeerPort;
    private readonly string _agentHealthPort = SidecarsNames.PodAgentHealthPort.ToString(CultureInfo.InvariantCulture);
    private readonly string _peerHealthPort = SidecarsNames.LightpeerHealthPort.ToString(CultureInfo.InvariantCulture);
    private readonly Frozen _frozen;

    public SidecarTemplates(InjectionOptions options, string agentImage)
    {
        _options = options;
        _agentImage = agentImage;
        _lightpeerPort = options.LightpeerPort.ToString(CultureInfo.InvariantCulture);
        _frozen = new Frozen(this);
    }

    public JsonObject PodAgent(SidecarRequest request)
    {
        // Tokens-only: the CA bundle is what authenticates the token reader (the cluster agent's certificate chains to it).
        var args = request.TokensOnly
            ? new JsonArray("pod-agent", "--tokens-only", "--token-reader-ca", SidecarsNames.TrustBundleFile, "--health-port", _agentHealthPort)
            : new JsonArray(
                "pod-agent",
                "--socket", SidecarsNames.SocketPath,
                "--secret-file", SidecarsNames.SecretFile,
                "--pod-token-file", SidecarsNames.PodTokenFile,
                "--cluster-agent-ca", SidecarsNames.TrustBundleFile,
                "--blessing", request.Blessing,
                "--health-port", _agentHealthPort);
        var mounts = request.TokensOnly
            ? new JsonArray(Thaw(_frozen.TrustBundleMount))
            : new JsonArray(
                SocketMount(),
                Thaw(_frozen.SecretMount),
                Thaw(_frozen.PodTokenMount),
                Thaw(_frozen.TrustBundleMount));
        if (request.TokenDirectory is { } tokens)
        {
            args.Add((JsonNode)"--token-dir");
            args.Add((JsonNode)tokens);
            mounts.Add((JsonNode)TokenMount(tokens, readOnly: true));
        }

        var env = CommonEnv();
        AddServiceAccount(request, args, env, mounts);
        var container = new JsonObject
        {
            ["name"] = SidecarsNames.PodAgentContainer,
            ["image"] = _agentImage,
            ["args"] = args,
            ["env"] = env,
            ["ports"] = ThawArray(_frozen.AgentPorts),
            ["readinessProbe"] = Thaw(_frozen.AgentReadiness),
            ["resources"] = Resources(_frozen.AgentResources, _options.PodAgent, request),
            ["securityContext"] = Thaw(_frozen.SecurityContext),
            ["volumeMounts"] = mounts,
        };
        AddLiveness(container, _frozen.AgentLiveness);
        if (request.TokensOnly)
        {
            // Without an identity there is nothing for the app containers to wait for: no startup ordering.
            if (_options.NativeSidecars)
            {
                container["restartPolicy"] = "Always";
            }

            return container;
        }

        if (_options.NativeSidecars)
        {
            // A native sidecar counts as started once its startup probe passes: later containers wait for a ready agent.
            container["startupProbe"] = Thaw(_frozen.AgentStartup);
            container["restartPolicy"] = "Always";
        }
        else
        {
            // The kubelet runs a container's postStart hook before it starts the next container, so with the agent
            // first, this hook (which returns once the agent reports ready) holds the app containers back.
            container["lifecycle"] = Thaw(_frozen.AgentLifecycle);
        }

        return container;
    }

    public JsonObject Lightpeer(SidecarRequest request)
    {
        // Mutual TLS with the network CA: only the network controller can make it join or forget peers.
        var args = new JsonArray(
            "lightpeer", "--port", _lightpeerPort, "--health-port", _peerHealthPort, "--tls-dir", SidecarsNames.LightpeerIdentityDirectory);
        var env = CommonEnv();
        env.Add((JsonNode)Env(SidecarsNames.NetworkIdEnv, request.NetworkId));
        var mounts = new JsonArray(new JsonObject
        {
            ["name"] = SidecarsNames.LightpeerIdentityVolume,
            ["mountPath"] = SidecarsNames.LightpeerIdentityDirectory,
            ["readOnly"] = true,
        });
        AddServiceAccount(request, args, env, mounts);
        var container = new JsonObject
        {
            ["name"] = SidecarsNames.LightpeerContainer,
            ["image"] = _agentImage,
            ["args"] = args,
            ["env"] = env,
            ["ports"] = ThawArray(_frozen.PeerPorts),
            ["readinessProbe"] = Thaw(_frozen.PeerReadiness),
            ["resources"] = Resources(_frozen.PeerResources, _options.Lightpeer, request),
            ["securityContext"] = Thaw(_frozen.SecurityContext),
        };
        container["volumeMounts"] = mounts;
        AddLiveness(container, _frozen.PeerLiveness);
        if (_options.NativeSidecars)
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

    /// <summary>
    /// The pod-agent's own service-account token, bound to the pod and valid only for the cluster agent's audience: the
    /// kubelet requests it (TokenRequest) and rotates it; the cluster agent reviews it to know which pod is asking.
    /// </summary>
    public static JsonObject PodTokenVolume(string audience) => new()
    {
        ["name"] = SidecarsNames.PodTokenVolume,
        ["projected"] = new JsonObject
        {
            ["sources"] = new JsonArray(new JsonObject
            {
                ["serviceAccountToken"] = new JsonObject
                {
                    ["audience"] = audience,
                    ["expirationSeconds"] = SidecarsNames.PodTokenExpirationSeconds,
                    ["path"] = SidecarsNames.PodTokenKey,
                },
            }),
        },
    };

    /// <summary>
    /// The cluster agent's CA bundle, kept in every opted-in namespace by the cluster agent. Optional, so a pod still
    /// starts when the ConfigMap lags (or in a namespace opted in by pod annotation only); the kubelet fills the volume
    /// once it exists and swaps its files on every change, which the pod-agent picks up without a restart.
    /// </summary>
    public static JsonObject TrustBundleVolume() => new()
    {
        ["name"] = SidecarsNames.TrustBundleVolume,
        ["configMap"] = new JsonObject
        {
            ["name"] = SidecarsNames.TrustBundleConfigMap,
            ["optional"] = true,
        },
    };

    /// <summary>
    /// The lightpeer's network identity: the CA bundle and the namespace's peer certificate, kept by the cluster agent in
    /// every namespace with lightpeer pods. Optional, so the pod (and its apps) start even when the cluster agent has not
    /// issued it yet, or runs nowhere: until the kubelet fills the volume the lightpeer refuses every call and cannot be
    /// joined, then it picks the files up without a restart, as it does on every rotation.
    /// </summary>
    public static JsonObject LightpeerIdentityVolume() => new()
    {
        ["name"] = SidecarsNames.LightpeerIdentityVolume,
        ["secret"] = new JsonObject
        {
            ["secretName"] = SidecarsNames.LightpeerIdentitySecret,
            ["optional"] = true,
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
    /// The app containers' service account token mount, exactly as the ServiceAccount admission plugin writes it; a
    /// sidecar that exits when the apps finish watches its own pod with it and is told where it is.
    /// </summary>
    private static void AddServiceAccount(SidecarRequest request, JsonArray args, JsonArray env, JsonArray mounts)
    {
        if (request.ServiceAccount is { } account)
        {
            mounts.Add((JsonNode)new JsonObject { ["name"] = account.Volume, ["mountPath"] = account.MountPath, ["readOnly"] = true });
        }

        if (!request.ExitWhenAppsDone)
        {
            return;
        }

        args.Add((JsonNode)"--exit-when-apps-done");
        if (request.ServiceAccount is { } watched)
        {
            env.Add((JsonNode)Env(SidecarsNames.ServiceAccountDirectoryEnv, watched.MountPath));
        }
    }

    private JsonArray CommonEnv()
    {
        var env = new JsonArray();
        foreach (var variable in _frozen.CommonEnv.EnumerateArray())
        {
            env.Add((JsonNode)Thaw(variable));
        }

        return env;
    }

    private JsonArray BuildCommonEnv()
    {
        var env = new JsonArray(
            FieldEnv(SidecarsNames.PodNameEnv, "metadata.name"),
            FieldEnv(SidecarsNames.PodNamespaceEnv, "metadata.namespace"),
            FieldEnv(SidecarsNames.PodIpEnv, "status.podIP"));
        if (_options.ClusterAgentAddress.Length > 0)
        {
            env.Add((JsonNode)Env(SidecarsNames.ClusterAgentEnv, _options.ClusterAgentAddress));
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
        if (_options.Probes.InitialDelaySeconds > 0)
        {
            probe["initialDelaySeconds"] = _options.Probes.InitialDelaySeconds;
        }

        probe["periodSeconds"] = periodSeconds;
        probe["timeoutSeconds"] = _options.Probes.TimeoutSeconds;
        probe["failureThreshold"] = failureThreshold;
        return probe;
    }

    private static void AddLiveness(JsonObject container, JsonElement? probe)
    {
        if (probe is { } liveness)
        {
            container["livenessProbe"] = Thaw(liveness);
        }
    }

    private static JsonObject Resources(JsonElement frozenDefaults, SidecarResources defaults, SidecarRequest request) =>
        request.RequestOverrides is null && request.LimitOverrides is null ? Thaw(frozenDefaults) : Resources(defaults, request);

    private static JsonObject Resources(SidecarResources defaults, SidecarRequest? request) => new()
    {
        ["requests"] = Merge(defaults.Requests, request?.RequestOverrides),
        ["limits"] = Merge(defaults.Limits, request?.LimitOverrides),
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
        var security = _options.SecurityContext;
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

    /// <summary>A fresh node over a frozen element: nothing is copied until someone edits it.</summary>
    private static JsonObject Thaw(JsonElement element) => JsonObject.Create(element)!;

    private static JsonArray ThawArray(JsonElement element) => JsonArray.Create(element)!;

    private static JsonElement Freeze(JsonNode node) => JsonSerializer.SerializeToElement(node, ManifestJsonContext.Default.JsonNode);

    /// <summary>The configuration-only parts of the sidecars, built once per engine.</summary>
    private sealed class Frozen(SidecarTemplates templates)
    {
        public JsonElement SecurityContext { get; } = Freeze(templates.SecurityContext());

        public JsonElement CommonEnv { get; } = Freeze(templates.BuildCommonEnv());

        public JsonElement SecretMount { get; } = Freeze(new JsonObject
        {
            ["name"] = SidecarsNames.SecretVolume,
            ["mountPath"] = SidecarsNames.SecretDirectory,
            ["readOnly"] = true,
        });

        public JsonElement PodTokenMount { get; } = Freeze(new JsonObject
        {
            ["name"] = SidecarsNames.PodTokenVolume,
            ["mountPath"] = SidecarsNames.PodTokenDirectory,
            ["readOnly"] = true,
        });

        public JsonElement TrustBundleMount { get; } = Freeze(new JsonObject
        {
            ["name"] = SidecarsNames.TrustBundleVolume,
            ["mountPath"] = SidecarsNames.TrustBundleDirectory,
            ["readOnly"] = true,
        });

        public JsonElement AgentPorts { get; } = Freeze(new JsonArray(Port(SidecarsNames.PodAgentHealthPortName, SidecarsNames.PodAgentHealthPort)));

        public JsonElement PeerPorts { get; } = Freeze(new JsonArray(
            Port(SidecarsNames.LightpeerPortName, templates._options.LightpeerPort),
            Port(SidecarsNames.LightpeerHealthPortName, SidecarsNames.LightpeerHealthPort)));

        public JsonElement AgentReadiness { get; } = Freeze(templates.HttpProbe("/readyz", SidecarsNames.PodAgentHealthPortName,
            templates._options.Probes.FailureThreshold, templates._options.Probes.PeriodSeconds));

        public JsonElement PeerReadiness { get; } = Freeze(templates.HttpProbe("/readyz", SidecarsNames.LightpeerHealthPortName,
            templates._options.Probes.FailureThreshold, templates._options.Probes.PeriodSeconds));

        public JsonElement AgentStartup { get; } = Freeze(templates.HttpProbe("/readyz", SidecarsNames.PodAgentHealthPortName,
            templates._options.Probes.StartupFailureThreshold, 1));

        public JsonElement? AgentLiveness { get; } = templates.Liveness(SidecarsNames.PodAgentHealthPortName);

        public JsonElement? PeerLiveness { get; } = templates.Liveness(SidecarsNames.LightpeerHealthPortName);

        public JsonElement AgentLifecycle { get; } = Freeze(new JsonObject
        {
            ["postStart"] = new JsonObject
            {
                ["exec"] = new JsonObject
                {
                    ["command"] = new JsonArray(templates._options.AgentBinary, "pod-agent", "--wait-ready", "--health-port", templates._agentHealthPort),
                },
            },
        });

        public JsonElement AgentResources { get; } = Freeze(Resources(templates._options.PodAgent, request: null));

        public JsonElement PeerResources { get; } = Freeze(Resources(templates._options.Lightpeer, request: null));
    }

    private JsonElement? Liveness(string port) => _options.Probes.Liveness
        ? Freeze(HttpProbe("/healthz", port, _options.Probes.LivenessFailureThreshold, _options.Probes.LivenessPeriodSeconds))
        : null;
}
