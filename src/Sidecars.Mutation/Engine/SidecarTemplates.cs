using System.Globalization;
using System.Text.Json;
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

    /// <summary>The pod asks the pod-agent to export its TLS material (<see cref="TlsExport"/>).</summary>
    public bool ExportTls { get; init; }
}

/// <summary>
/// Writes the injected containers and volumes as JSON. The parts that depend only on configuration (probes, ports,
/// security context, default resources, field env, fixed mounts and volumes) are serialised once per engine; a review
/// writes what varies around them straight into its patch and builds no JSON tree.
/// </summary>
internal sealed class SidecarTemplates
{
    private readonly InjectionOptions _options;
    private readonly string _agentImage;
    private readonly string _lightpeerPort;
    private readonly string _agentHealthPort = SidecarsNames.PodAgentHealthPort.ToString(CultureInfo.InvariantCulture);
    private readonly string _peerHealthPort = SidecarsNames.LightpeerHealthPort.ToString(CultureInfo.InvariantCulture);
    private readonly Fragments _fragments;

    public SidecarTemplates(InjectionOptions options, string agentImage)
    {
        _options = options;
        _agentImage = agentImage;
        _lightpeerPort = options.LightpeerPort.ToString(CultureInfo.InvariantCulture);
        _fragments = new Fragments(this);
    }

    public PatchValue PodAgent(SidecarRequest request) =>
        PatchValue.Of((Templates: this, Request: request), static (writer, state) => state.Templates.WritePodAgent(writer, state.Request));

    public PatchValue Lightpeer(SidecarRequest request) =>
        PatchValue.Of((Templates: this, Request: request), static (writer, state) => state.Templates.WriteLightpeer(writer, state.Request));

    public PatchValue SocketVolume() => _fragments.SocketVolume;

    public static PatchValue SecretVolume(string secretName) => PatchValue.Of(secretName, static (writer, secretName) =>
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, SidecarsNames.SecretVolume);
        writer.WriteStartObject("secret"u8);
        writer.WriteString("secretName"u8, secretName);
        writer.WriteEndObject();
        writer.WriteEndObject();
    });

    public PatchValue PodTokenVolume() => _fragments.PodTokenVolume;

    public PatchValue TrustBundleVolume() => _fragments.TrustBundleVolume;

    public PatchValue LightpeerIdentityVolume() => _fragments.LightpeerIdentityVolume;

    public PatchValue TokenVolume() => _fragments.TokenVolume;

    /// <summary>The token volume's mount in the app container that writes the tokens.</summary>
    public PatchValue TokenWriterMount() => _fragments.TokenWriterMount;

    public PatchValue SocketMount() => _fragments.SocketMount;

    public static PatchValue Env(string name, string value) => PatchValue.Env(name, value);

    private void WritePodAgent(Utf8JsonWriter writer, SidecarRequest request)
    {
        var f = _fragments;
        writer.WriteStartObject();
        writer.WriteString("name"u8, SidecarsNames.PodAgentContainer);
        writer.WriteString("image"u8, _agentImage);
        writer.WriteStartArray("args"u8);
        if (request.TokensOnly)
        {
            // Tokens-only: the CA bundle is what authenticates the token reader (the cluster agent's certificate chains to it).
            writer.WriteStringValue("pod-agent"u8);
            writer.WriteStringValue("--tokens-only"u8);
            writer.WriteStringValue("--token-reader-ca"u8);
            writer.WriteStringValue(SidecarsNames.TrustBundleFile);
            writer.WriteStringValue("--health-port"u8);
            writer.WriteStringValue(_agentHealthPort);
        }
        else
        {
            writer.WriteStringValue("pod-agent"u8);
            writer.WriteStringValue("--socket"u8);
            writer.WriteStringValue(SidecarsNames.SocketPath);
            writer.WriteStringValue("--secret-file"u8);
            writer.WriteStringValue(SidecarsNames.SecretFile);
            writer.WriteStringValue("--pod-token-file"u8);
            writer.WriteStringValue(SidecarsNames.PodTokenFile);
            writer.WriteStringValue("--cluster-agent-ca"u8);
            writer.WriteStringValue(SidecarsNames.TrustBundleFile);
            writer.WriteStringValue("--blessing"u8);
            writer.WriteStringValue(request.Blessing);
            writer.WriteStringValue("--health-port"u8);
            writer.WriteStringValue(_agentHealthPort);
        }

        if (request.TokenDirectory is { } tokens)
        {
            writer.WriteStringValue("--token-dir"u8);
            writer.WriteStringValue(tokens);
        }

        WriteServiceAccountArgs(writer, request);
        if (request.ExportTls)
        {
            TlsExport.WriteArgs(writer);
        }

        writer.WriteEndArray();
        WriteContainerEnv(writer, request, network: null);
        WriteRaw(writer, "ports"u8, f.AgentPorts);
        WriteRaw(writer, "readinessProbe"u8, f.AgentReadiness);
        WriteResources(writer, f.AgentResources, _options.PodAgent, request);
        WriteRaw(writer, "securityContext"u8, f.SecurityContext);
        writer.WriteStartArray("volumeMounts"u8);
        if (request.TokensOnly)
        {
            writer.WriteRawValue(f.TrustBundleMount, skipInputValidation: true);
        }
        else
        {
            writer.WriteRawValue(f.SocketMountJson, skipInputValidation: true);
            writer.WriteRawValue(f.SecretMount, skipInputValidation: true);
            writer.WriteRawValue(f.PodTokenMount, skipInputValidation: true);
            writer.WriteRawValue(f.TrustBundleMount, skipInputValidation: true);
        }

        if (request.TokenDirectory is { } directory)
        {
            WriteMount(writer, SidecarsNames.TokenVolume, directory);
        }

        WriteServiceAccountMount(writer, request);
        writer.WriteEndArray();
        WriteLiveness(writer, f.AgentLiveness);
        if (request.TokensOnly)
        {
            // Without an identity there is nothing for the app containers to wait for: no startup ordering.
            if (_options.NativeSidecars)
            {
                writer.WriteString("restartPolicy"u8, "Always"u8);
            }
        }
        else if (_options.NativeSidecars)
        {
            // A native sidecar counts as started once its startup probe passes: later containers wait for a ready agent.
            WriteRaw(writer, "startupProbe"u8, f.AgentStartup);
            writer.WriteString("restartPolicy"u8, "Always"u8);
        }
        else
        {
            // The kubelet runs a container's postStart hook before it starts the next container, so with the agent
            // first, this hook (which returns once the agent reports ready) holds the app containers back.
            WriteRaw(writer, "lifecycle"u8, f.AgentLifecycle);
        }

        writer.WriteEndObject();
    }

    private void WriteLightpeer(Utf8JsonWriter writer, SidecarRequest request)
    {
        var f = _fragments;
        writer.WriteStartObject();
        writer.WriteString("name"u8, SidecarsNames.LightpeerContainer);
        writer.WriteString("image"u8, _agentImage);
        // Mutual TLS with the network CA: only the network controller can make it join or forget peers.
        writer.WriteStartArray("args"u8);
        writer.WriteStringValue("lightpeer"u8);
        writer.WriteStringValue("--port"u8);
        writer.WriteStringValue(_lightpeerPort);
        writer.WriteStringValue("--health-port"u8);
        writer.WriteStringValue(_peerHealthPort);
        writer.WriteStringValue("--tls-dir"u8);
        writer.WriteStringValue(SidecarsNames.LightpeerIdentityDirectory);
        WriteServiceAccountArgs(writer, request);
        writer.WriteEndArray();
        WriteContainerEnv(writer, request, request.NetworkId);
        WriteRaw(writer, "ports"u8, f.PeerPorts);
        WriteRaw(writer, "readinessProbe"u8, f.PeerReadiness);
        WriteResources(writer, f.PeerResources, _options.Lightpeer, request);
        WriteRaw(writer, "securityContext"u8, f.SecurityContext);
        writer.WriteStartArray("volumeMounts"u8);
        writer.WriteRawValue(f.LightpeerIdentityMount, skipInputValidation: true);
        WriteServiceAccountMount(writer, request);
        writer.WriteEndArray();
        WriteLiveness(writer, f.PeerLiveness);
        if (_options.NativeSidecars)
        {
            writer.WriteString("restartPolicy"u8, "Always"u8);
        }

        writer.WriteEndObject();
    }

    /// <summary>The common env, then the network the lightpeer joins, then where a Job pod's sidecar finds its token.</summary>
    private void WriteContainerEnv(Utf8JsonWriter writer, SidecarRequest request, string? network)
    {
        writer.WriteStartArray("env"u8);
        foreach (var variable in _fragments.CommonEnv)
        {
            writer.WriteRawValue(variable, skipInputValidation: true);
        }

        if (network is not null)
        {
            PatchValue.WriteEnv(writer, SidecarsNames.NetworkIdEnv, network);
        }

        if (request.ExitWhenAppsDone && request.ServiceAccount is { } watched)
        {
            PatchValue.WriteEnv(writer, SidecarsNames.ServiceAccountDirectoryEnv, watched.MountPath);
        }

        writer.WriteEndArray();
    }

    /// <summary>
    /// The app containers' service account token mount, exactly as the ServiceAccount admission plugin writes it; a
    /// sidecar that exits when the apps finish watches its own pod with it and is told where it is.
    /// </summary>
    private static void WriteServiceAccountMount(Utf8JsonWriter writer, SidecarRequest request)
    {
        if (request.ServiceAccount is { } account)
        {
            WriteMount(writer, account.Volume, account.MountPath);
        }
    }

    private static void WriteServiceAccountArgs(Utf8JsonWriter writer, SidecarRequest request)
    {
        if (request.ExitWhenAppsDone)
        {
            writer.WriteStringValue("--exit-when-apps-done"u8);
        }
    }

    private static void WriteMount(Utf8JsonWriter writer, string volume, string mountPath)
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, volume);
        writer.WriteString("mountPath"u8, mountPath);
        writer.WriteBoolean("readOnly"u8, true);
        writer.WriteEndObject();
    }

    private static void WriteRaw(Utf8JsonWriter writer, ReadOnlySpan<byte> property, byte[] json)
    {
        writer.WritePropertyName(property);
        writer.WriteRawValue(json, skipInputValidation: true);
    }

    private static void WriteLiveness(Utf8JsonWriter writer, byte[]? probe)
    {
        if (probe is not null)
        {
            WriteRaw(writer, "livenessProbe"u8, probe);
        }
    }

    private static void WriteResources(Utf8JsonWriter writer, byte[] serialisedDefaults, SidecarResources defaults, SidecarRequest request)
    {
        if (request.RequestOverrides is null && request.LimitOverrides is null)
        {
            WriteRaw(writer, "resources"u8, serialisedDefaults);
            return;
        }

        writer.WritePropertyName("resources"u8);
        WriteResources(writer, defaults, request);
    }

    private static void WriteResources(Utf8JsonWriter writer, SidecarResources defaults, SidecarRequest? request)
    {
        writer.WriteStartObject();
        WriteQuantities(writer, "requests"u8, defaults.Requests, request?.RequestOverrides);
        WriteQuantities(writer, "limits"u8, defaults.Limits, request?.LimitOverrides);
        writer.WriteEndObject();
    }

    /// <summary>The defaults with the pod's overrides, sorted by name.</summary>
    private static void WriteQuantities(Utf8JsonWriter writer, ReadOnlySpan<byte> property, IReadOnlyDictionary<string, string> defaults,
        IReadOnlyDictionary<string, string>? overrides)
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

        writer.WriteStartObject(property);
        foreach (var (name, quantity) in merged)
        {
            writer.WriteString(name, quantity);
        }

        writer.WriteEndObject();
    }

    private byte[] SecurityContext() => PatchValue.Serialize(writer =>
    {
        var security = _options.SecurityContext;
        writer.WriteStartObject();
        writer.WriteBoolean("allowPrivilegeEscalation"u8, security.AllowPrivilegeEscalation);
        writer.WriteBoolean("readOnlyRootFilesystem"u8, security.ReadOnlyRootFilesystem);
        writer.WriteBoolean("runAsNonRoot"u8, security.RunAsNonRoot);
        if (security.RunAsUser is { } user)
        {
            writer.WriteNumber("runAsUser"u8, user);
        }

        if (security.DropAllCapabilities)
        {
            writer.WriteStartObject("capabilities"u8);
            writer.WriteStartArray("drop"u8);
            writer.WriteStringValue("ALL"u8);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        if (security.Seccomp is not SidecarSeccomp.Unset)
        {
            writer.WriteStartObject("seccompProfile"u8);
            if (security.Seccomp is SidecarSeccomp.Localhost)
            {
                writer.WriteString("type"u8, "Localhost"u8);
                writer.WriteString("localhostProfile"u8, security.SeccompLocalhostProfile);
            }
            else
            {
                writer.WriteString("type"u8, "RuntimeDefault"u8);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    });

    private byte[][] CommonEnv()
    {
        List<byte[]> env =
        [
            FieldEnv(SidecarsNames.PodNameEnv, "metadata.name"),
            FieldEnv(SidecarsNames.PodNamespaceEnv, "metadata.namespace"),
            FieldEnv(SidecarsNames.PodIpEnv, "status.podIP"),
        ];
        if (_options.ClusterAgentAddress.Length > 0)
        {
            env.Add(PatchValue.Serialize(writer => PatchValue.WriteEnv(writer, SidecarsNames.ClusterAgentEnv, _options.ClusterAgentAddress)));
        }

        return [.. env];
    }

    private static byte[] FieldEnv(string name, string fieldPath) => PatchValue.Serialize(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, name);
        writer.WriteStartObject("valueFrom"u8);
        writer.WriteStartObject("fieldRef"u8);
        writer.WriteString("fieldPath"u8, fieldPath);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
    });

    private static void WritePort(Utf8JsonWriter writer, string name, int port)
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, name);
        writer.WriteNumber("containerPort"u8, port);
        writer.WriteString("protocol"u8, "TCP"u8);
        writer.WriteEndObject();
    }

    private byte[] HttpProbe(string path, string port, int failureThreshold, int periodSeconds) => PatchValue.Serialize(writer =>
    {
        writer.WriteStartObject();
        writer.WriteStartObject("httpGet"u8);
        writer.WriteString("path"u8, path);
        writer.WriteString("port"u8, port);
        writer.WriteEndObject();
        if (_options.Probes.InitialDelaySeconds > 0)
        {
            writer.WriteNumber("initialDelaySeconds"u8, _options.Probes.InitialDelaySeconds);
        }

        writer.WriteNumber("periodSeconds"u8, periodSeconds);
        writer.WriteNumber("timeoutSeconds"u8, _options.Probes.TimeoutSeconds);
        writer.WriteNumber("failureThreshold"u8, failureThreshold);
        writer.WriteEndObject();
    });

    private byte[]? Liveness(string port) => _options.Probes.Liveness
        ? HttpProbe("/healthz", port, _options.Probes.LivenessFailureThreshold, _options.Probes.LivenessPeriodSeconds)
        : null;

    private static byte[] Mount(string volume, string mountPath, bool readOnly) => PatchValue.Serialize(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, volume);
        writer.WriteString("mountPath"u8, mountPath);
        if (readOnly)
        {
            writer.WriteBoolean("readOnly"u8, true);
        }

        writer.WriteEndObject();
    });

    /// <summary>A volume <c>{"name":name,"&lt;source&gt;":{...}}</c>; <paramref name="writeSource"/> writes the source's members.</summary>
    private static byte[] Volume(string name, ReadOnlySpan<byte> source, Action<Utf8JsonWriter> writeSource)
    {
        var sourceName = source.ToArray();
        return PatchValue.Serialize(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, name);
            writer.WriteStartObject(sourceName);
            writeSource(writer);
            writer.WriteEndObject();
            writer.WriteEndObject();
        });
    }

    /// <summary>The configuration-only parts of the sidecars, serialised once per engine.</summary>
    private sealed class Fragments(SidecarTemplates templates)
    {
        public byte[] SecurityContext { get; } = templates.SecurityContext();

        public byte[][] CommonEnv { get; } = templates.CommonEnv();

        public byte[] SocketMountJson { get; } = Mount(SidecarsNames.SocketVolume, SidecarsNames.SocketDirectory, readOnly: false);

        public byte[] SecretMount { get; } = Mount(SidecarsNames.SecretVolume, SidecarsNames.SecretDirectory, readOnly: true);

        public byte[] PodTokenMount { get; } = Mount(SidecarsNames.PodTokenVolume, SidecarsNames.PodTokenDirectory, readOnly: true);

        public byte[] TrustBundleMount { get; } = Mount(SidecarsNames.TrustBundleVolume, SidecarsNames.TrustBundleDirectory, readOnly: true);

        public byte[] LightpeerIdentityMount { get; } = Mount(SidecarsNames.LightpeerIdentityVolume, SidecarsNames.LightpeerIdentityDirectory, readOnly: true);

        public byte[] AgentPorts { get; } = PatchValue.Serialize(writer =>
        {
            writer.WriteStartArray();
            WritePort(writer, SidecarsNames.PodAgentHealthPortName, SidecarsNames.PodAgentHealthPort);
            writer.WriteEndArray();
        });

        public byte[] PeerPorts { get; } = PatchValue.Serialize(writer =>
        {
            writer.WriteStartArray();
            WritePort(writer, SidecarsNames.LightpeerPortName, templates._options.LightpeerPort);
            WritePort(writer, SidecarsNames.LightpeerHealthPortName, SidecarsNames.LightpeerHealthPort);
            writer.WriteEndArray();
        });

        public byte[] AgentReadiness { get; } = templates.HttpProbe("/readyz", SidecarsNames.PodAgentHealthPortName,
            templates._options.Probes.FailureThreshold, templates._options.Probes.PeriodSeconds);

        public byte[] PeerReadiness { get; } = templates.HttpProbe("/readyz", SidecarsNames.LightpeerHealthPortName,
            templates._options.Probes.FailureThreshold, templates._options.Probes.PeriodSeconds);

        public byte[] AgentStartup { get; } = templates.HttpProbe("/readyz", SidecarsNames.PodAgentHealthPortName,
            templates._options.Probes.StartupFailureThreshold, 1);

        public byte[]? AgentLiveness { get; } = templates.Liveness(SidecarsNames.PodAgentHealthPortName);

        public byte[]? PeerLiveness { get; } = templates.Liveness(SidecarsNames.LightpeerHealthPortName);

        public byte[] AgentLifecycle { get; } = PatchValue.Serialize(writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartObject("postStart"u8);
            writer.WriteStartObject("exec"u8);
            writer.WriteStartArray("command"u8);
            writer.WriteStringValue(templates._options.AgentBinary);
            writer.WriteStringValue("pod-agent"u8);
            writer.WriteStringValue("--wait-ready"u8);
            writer.WriteStringValue("--health-port"u8);
            writer.WriteStringValue(templates._agentHealthPort);
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        });

        public byte[] AgentResources { get; } = PatchValue.Serialize(writer => WriteResources(writer, templates._options.PodAgent, request: null));

        public byte[] PeerResources { get; } = PatchValue.Serialize(writer => WriteResources(writer, templates._options.Lightpeer, request: null));

        public PatchValue SocketMount { get; } = PatchValue.Raw(Mount(SidecarsNames.SocketVolume, SidecarsNames.SocketDirectory, readOnly: false));

        public PatchValue TokenWriterMount { get; } = PatchValue.Raw(Mount(SidecarsNames.TokenVolume, templates._options.TokenDirectory, readOnly: false));

        public PatchValue SocketVolume { get; } = PatchValue.Raw(Volume(SidecarsNames.SocketVolume, "emptyDir"u8, _ => { }));

        /// <summary>
        /// The pod-agent's own service-account token, bound to the pod and valid only for the cluster agent's audience: the
        /// kubelet requests it (TokenRequest) and rotates it; the cluster agent reviews it to know which pod is asking.
        /// </summary>
        public PatchValue PodTokenVolume { get; } = PatchValue.Raw(Volume(SidecarsNames.PodTokenVolume, "projected"u8, writer =>
        {
            writer.WriteStartArray("sources"u8);
            writer.WriteStartObject();
            writer.WriteStartObject("serviceAccountToken"u8);
            writer.WriteString("audience"u8, templates._options.PodTokenAudience);
            writer.WriteNumber("expirationSeconds"u8, SidecarsNames.PodTokenExpirationSeconds);
            writer.WriteString("path"u8, SidecarsNames.PodTokenKey);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
        }));

        /// <summary>
        /// The cluster agent's CA bundle, kept in every opted-in namespace by the cluster agent. Optional, so a pod still
        /// starts when the ConfigMap lags (or in a namespace opted in by pod annotation only); the kubelet fills the volume
        /// once it exists and swaps its files on every change, which the pod-agent picks up without a restart.
        /// </summary>
        public PatchValue TrustBundleVolume { get; } = PatchValue.Raw(Volume(SidecarsNames.TrustBundleVolume, "configMap"u8, writer =>
        {
            writer.WriteString("name"u8, SidecarsNames.TrustBundleConfigMap);
            writer.WriteBoolean("optional"u8, true);
        }));

        /// <summary>
        /// The lightpeer's network identity: the CA bundle and the namespace's peer certificate, kept by the cluster agent in
        /// every namespace with lightpeer pods. Optional, so the pod (and its apps) start even when the cluster agent has not
        /// issued it yet, or runs nowhere: until the kubelet fills the volume the lightpeer refuses every call and cannot be
        /// joined, then it picks the files up without a restart, as it does on every rotation.
        /// </summary>
        public PatchValue LightpeerIdentityVolume { get; } = PatchValue.Raw(Volume(SidecarsNames.LightpeerIdentityVolume, "secret"u8, writer =>
        {
            writer.WriteString("secretName"u8, SidecarsNames.LightpeerIdentitySecret);
            writer.WriteBoolean("optional"u8, true);
        }));

        /// <summary>The shared token volume: memory-backed, small, written by the first app container.</summary>
        public PatchValue TokenVolume { get; } = PatchValue.Raw(Volume(SidecarsNames.TokenVolume, "emptyDir"u8, writer =>
        {
            writer.WriteString("medium"u8, "Memory"u8);
            writer.WriteString("sizeLimit"u8, templates._options.TokenVolumeSizeLimit);
        }));
    }
}
