using System.Globalization;
using System.Text.Json;
using Sidecars.Conventions;

namespace Sidecars.Mutation;

/// <summary>
/// Decides one pod request. Reads the admitted pod, plans each feature as keyed edits (so a reinvocation or an
/// already-injected pod yields nothing new) and emits the patch in an order whose paths stay valid: per-container
/// edits, then volumes and pull secrets, then new containers (inserting at index 0 last), then metadata.
/// </summary>
internal sealed partial class PodMutation
{
    private readonly EngineSettings _settings;
    private readonly AdmissionInput _input;
    private readonly JsonElement? _spec;
    private readonly JsonElement? _metadata;
    private readonly DecisionCollector _decision = new();
    private readonly InjectionRecord _record = new();
    private readonly MapEdit _labels;
    private readonly MapEdit _annotations;
    private readonly ArrayEdit _containers;
    private readonly ArrayEdit _initContainers;
    private readonly ArrayEdit _volumes;
    private readonly ArrayEdit _pullSecrets;
    private readonly List<ContainerEdit> _existing = [];
    private readonly List<string> _newImages = [];
    private bool _exitResolved;
    private bool _exit;

    public PodMutation(EngineSettings settings, AdmissionInput input)
    {
        _settings = settings;
        _input = input;
        JsonElement? pod = input.Object;
        var metadata = _metadata = pod.Object("metadata");
        _spec = pod.Object("spec");
        _labels = new MapEdit("/metadata/labels", metadata.Object("labels"));
        _annotations = new MapEdit("/metadata/annotations", metadata.Object("annotations"));
        _containers = new ArrayEdit("/spec/containers", _spec.Array("containers"));
        _initContainers = new ArrayEdit("/spec/initContainers", _spec.Array("initContainers"));
        _volumes = new ArrayEdit("/spec/volumes", _spec.Array("volumes"));
        _pullSecrets = new ArrayEdit("/spec/imagePullSecrets", _spec.Array("imagePullSecrets"));
        CollectContainers("/spec/initContainers", _spec.Array("initContainers"), isInit: true);
        CollectContainers("/spec/containers", _spec.Array("containers"), isInit: false);
    }

    private IEnumerable<ContainerEdit> AppContainers => _existing.Where(c => !c.IsInit && !c.IsSidecar);

    public AdmissionDecision Decide()
    {
        if (Gate() is { } skipped)
        {
            return skipped;
        }

        var owner = ResolveOwner();
        if (PlanPodAgent() is { } denied)
        {
            return denied;
        }

        PlanTokens();
        PlanLightpeer();
        RewriteImages();
        PlanPullSecret();
        RepointVolume(owner);
        ApplySettings();
        LabelOwner(owner);
        return _decision.Finish(Emit());
    }

    private AdmissionDecision? Gate()
    {
        if (!string.IsNullOrEmpty(_input.SubResource))
        {
            return _decision.Skip("admission", "subresource", $"subresource {_input.SubResource} is never mutated");
        }

        if (_settings.ExcludedNamespaces.Contains(_input.Namespace))
        {
            return _decision.Skip("admission", "namespace-excluded", $"namespace {_input.Namespace} is excluded");
        }

        if (_input.Operation != "CREATE")
        {
            return _decision.Unchanged("admission", "operation-ignored", $"pods are mutated on CREATE only, not {_input.Operation}");
        }

        if (_metadata is null || _spec is null)
        {
            _decision.Warn("sidecars: pod without metadata or spec, admitted unchanged");
            return _decision.Skip("admission", "invalid-object", "the pod has no metadata or spec object");
        }

        var inject = _annotations.Get(SidecarsAnnotations.Inject);
        if (string.Equals(inject, "false", StringComparison.OrdinalIgnoreCase))
        {
            return _decision.Skip("admission", "opted-out", $"annotation {SidecarsAnnotations.Inject}=false");
        }

        if (string.Equals(inject, "true", StringComparison.OrdinalIgnoreCase))
        {
            _decision.Gate("opted-in", $"annotation {SidecarsAnnotations.Inject}=true");
            return null;
        }

        if (inject is not null)
        {
            _decision.Warn($"ignored {SidecarsAnnotations.Inject}={inject}: use true or false");
        }

        if (_input.NamespaceLabels is { } labels && labels.TryGetValue(SidecarsLabels.NamespaceInjection, out var value)
            && value == SidecarsLabels.NamespaceInjectionEnabled)
        {
            _decision.Gate("opted-in", $"namespace label {SidecarsLabels.NamespaceInjection}=enabled");
            return null;
        }

        return _decision.Skip("admission", "not-opted-in",
            $"neither namespace label {SidecarsLabels.NamespaceInjection}=enabled nor annotation {SidecarsAnnotations.Inject}=true");
    }

    private Owner ResolveOwner()
    {
        var user = _input.UserName;
        var stamp = _annotations.Get(SidecarsAnnotations.CreatedBy);
        if (_settings.TrustedControllers.Contains(user))
        {
            if (!string.IsNullOrWhiteSpace(stamp))
            {
                return new Owner(stamp, Known: true, $"from the {SidecarsAnnotations.CreatedBy} stamp; created by {user}");
            }

            _decision.Warn($"owner unknown: {user} created the pod without a {SidecarsAnnotations.CreatedBy} stamp");
            return new Owner(OwnerNames.Unknown, Known: false, $"{user} created the pod without a {SidecarsAnnotations.CreatedBy} stamp");
        }

        if (_settings.TrustedDelegates.Contains(user) && _annotations.Get(SidecarsAnnotations.User) is { Length: > 0 } onBehalfOf)
        {
            return new Owner(onBehalfOf, Known: true, $"from the {SidecarsAnnotations.User} annotation; created by {user} on that user's behalf");
        }

        if (string.IsNullOrWhiteSpace(user))
        {
            _decision.Warn("owner unknown: the request has no user name");
            return new Owner(OwnerNames.Unknown, Known: false, "the request has no user name");
        }

        if (stamp is not null && stamp != user)
        {
            // A stamp on a pod created directly by a person is not trusted: it becomes the requesting user.
            _annotations.Set(SidecarsAnnotations.CreatedBy, user);
        }

        return new Owner(user, Known: true, "the requesting user");
    }

    private AdmissionDecision? PlanPodAgent()
    {
        const string feature = "pod-agent";
        var blessing = _annotations.Get(SidecarsAnnotations.Blessing);
        if (string.IsNullOrEmpty(blessing))
        {
            if (TokenKeys.Count > 0)
            {
                PlanTokensOnlyAgent();
                return null;
            }

            _decision.Reason(feature, false, "not-requested", $"no {SidecarsAnnotations.Blessing} annotation");
            return null;
        }

        if (!KubernetesNames.IsBlessingExtension(blessing))
        {
            return _decision.Deny(feature, "invalid-blessing",
                $"{SidecarsAnnotations.Blessing} '{blessing}' is not a blessing extension (letters, digits, '.', '_', '-')");
        }

        var secret = _annotations.Get(SidecarsAnnotations.BlessingSecret) ?? SidecarsNames.DefaultSecretName(blessing);
        if (!KubernetesNames.IsDnsSubdomain(secret))
        {
            return _decision.Deny(feature, "invalid-secret-name",
                $"secret name '{secret}' is not a valid Kubernetes name; set {SidecarsAnnotations.BlessingSecret}");
        }

        var request = SidecarRequest(blessing) with { TokenDirectory = TokenKeys.Count > 0 ? _settings.Options.TokenDirectory : null };
        if (HasContainer(SidecarsNames.PodAgentContainer))
        {
            _decision.Reason(feature, true, "already-injected", $"container {SidecarsNames.PodAgentContainer} already present");
        }
        else
        {
            InjectPodAgent(_settings.Templates.PodAgent(request with { ExportTls = TlsExport.Requested(_annotations.Get(SidecarsAnnotations.ExportTls)) }));
            _decision.Reason(feature, true, "injected", $"blessing {blessing}, secret {secret}" + ModeNote(request));
        }

        _record.Add("containers", SidecarsNames.PodAgentContainer);
        EnsureVolume(SidecarsNames.SocketVolume, _settings.Templates.SocketVolume());
        EnsureVolume(SidecarsNames.SecretVolume, SidecarTemplates.SecretVolume(secret));
        EnsureVolume(SidecarsNames.PodTokenVolume, _settings.Templates.PodTokenVolume());
        EnsureVolume(SidecarsNames.TrustBundleVolume, _settings.Templates.TrustBundleVolume());
        foreach (var container in AppContainers)
        {
            if (!container.Mounts.Contains(SidecarsNames.SocketVolume))
            {
                container.Mounts.Upsert(SidecarsNames.SocketVolume, _settings.Templates.SocketMount());
            }

            SetEnv(container, SidecarsNames.SocketEnv, SidecarsNames.SocketPath);
        }

        _labels.Set(SidecarsLabels.PodAgent, "true");
        return null;
    }

    private void PlanLightpeer()
    {
        const string feature = "lightpeer";
        var labels = ((JsonElement?)_input.Object).Object("metadata").Object("labels");
        var network = labels.String(SidecarsLabels.NetworkId);
        if (string.IsNullOrEmpty(network))
        {
            _decision.Reason(feature, false, "not-requested", $"no {SidecarsLabels.NetworkId} label");
            return;
        }

        if (OwnLightpeer() is { } own)
        {
            // A second lightpeer would expose klight-port twice, and the controller would dial whichever it finds first.
            _decision.Warn($"lightpeer not injected: container {own.Name} {own.Evidence}, so the pod brings its own lightpeer");
            _decision.Reason(feature, false, "own-lightpeer", $"container {own.Name} {own.Evidence}");
            return;
        }

        if (HasContainer(SidecarsNames.LightpeerContainer))
        {
            _decision.Reason(feature, true, "already-injected", $"container {SidecarsNames.LightpeerContainer} already present");
        }
        else
        {
            var request = SidecarRequest(blessing: "", network);
            var peer = _settings.Templates.Lightpeer(request);
            if (_settings.Options.NativeSidecars)
            {
                _initContainers.Prepend(SidecarsNames.LightpeerContainer, peer);
            }
            else
            {
                _containers.Upsert(SidecarsNames.LightpeerContainer, peer);
            }

            _newImages.Add(_settings.AgentImage);
            _decision.CountInjected(feature);
            _decision.Reason(feature, true, "injected",
                $"network {network}, port {SidecarsNames.LightpeerPortName}={_settings.Options.LightpeerPort}" + ModeNote(request));
        }

        _record.Add("containers", SidecarsNames.LightpeerContainer);
        EnsureVolume(SidecarsNames.LightpeerIdentityVolume, _settings.Templates.LightpeerIdentityVolume());
        _labels.Set(SidecarsLabels.Lightpeer, "true");
    }

    /// <summary>The app container that is a lightpeer by its name or by exposing the lightpeer port, with what shows it.</summary>
    private (string Name, string Evidence)? OwnLightpeer()
    {
        foreach (var container in _existing.Where(c => !c.IsSidecar))
        {
            if (container.PortNames.FirstOrDefault(p => p is SidecarsNames.LightpeerPortName or SidecarsNames.LightpeerLegacyPortName) is { } port)
            {
                return (container.Name, $"exposes port {port}");
            }

            if (container.Name == SidecarsNames.OwnLightpeerContainer)
            {
                return (container.Name, "is named " + SidecarsNames.OwnLightpeerContainer);
            }
        }

        return null;
    }

    private void RewriteImages()
    {
        const string feature = "registry";
        var rewritten = new List<string>();
        var placeholders = 0;
        foreach (var container in _existing)
        {
            if (container.Image is not { } image || !ImageReferences.UsesPlaceholder(image))
            {
                continue;
            }

            placeholders++;
            if (ImageReferences.Rewrite(image, _settings.Registry) is { } replacement)
            {
                container.Image = replacement;
                _decision.Patch.Replace(container.Path + "/image", PatchValue.String(replacement));
                _record.Add("images", container.Name);
                rewritten.Add(container.Name);
            }
        }

        if (rewritten.Count > 0)
        {
            _decision.CountRewrite("registry", rewritten.Count);
            _decision.Reason(feature, true, "rewritten", $"{InjectionOptions.LocalRegistry} -> {_settings.Registry} in {string.Join(", ", rewritten)}");
        }
        else if (placeholders > 0)
        {
            _decision.Warn($"images use {InjectionOptions.LocalRegistry} but no registry is configured");
            _decision.Reason(feature, false, "registry-not-configured", "no registry configured");
        }
        else
        {
            _decision.Reason(feature, false, "nothing-to-rewrite", $"no {InjectionOptions.LocalRegistry}/ images");
        }
    }

    private void PlanPullSecret()
    {
        const string feature = "pull-secret";
        var secret = _settings.Options.ImagePullSecret;
        var pulls = _existing.Any(c => c.Image is { } image && ImageReferences.IsFromRegistry(image, _settings.Registry))
            || _newImages.Any(image => ImageReferences.IsFromRegistry(image, _settings.Registry));
        if (!pulls)
        {
            _decision.Reason(feature, false, "not-needed", "no image from the configured registry");
            return;
        }

        if (string.IsNullOrEmpty(secret))
        {
            _decision.Reason(feature, false, "not-configured", "no image pull secret configured");
            return;
        }

        _record.Add("pullSecrets", secret);
        if (_pullSecrets.Contains(secret))
        {
            _decision.Reason(feature, true, "already-present", $"pull secret {secret} already present");
            return;
        }

        _pullSecrets.Upsert(secret, PatchValue.Named(secret));
        _decision.CountRewrite(feature);
        _decision.Reason(feature, true, "added", $"pull secret {secret}");
    }

    private void RepointVolume(Owner owner)
    {
        const string feature = "volume";
        var name = _settings.Options.VolumeName;
        var index = _volumes.IndexOf(name);
        if (index < 0)
        {
            _decision.Reason(feature, false, "no-volume", $"no volume named {name}");
            return;
        }

        if (!owner.Known)
        {
            _decision.Warn($"volume {name} left as is: owner unknown");
            _decision.Reason(feature, false, "owner-unknown", $"volume {name} not re-pointed: owner unknown");
            return;
        }

        var claim = OwnerNames.ClaimName(_settings.Options.ClaimNameTemplate, "{owner}", owner.Name)
            .Replace("{namespace}", _input.Namespace, StringComparison.Ordinal);
        if (!KubernetesNames.IsDnsSubdomain(claim))
        {
            _decision.Warn($"volume {name} left as is: claim name '{claim}' is invalid");
            _decision.Reason(feature, false, "invalid-claim-name", $"claim name '{claim}' is not a valid name");
            return;
        }

        _record.Add("volumes", name);
        if (_volumes.Existing(name).Object("persistentVolumeClaim").String("claimName") == claim)
        {
            _decision.Reason(feature, true, "already-repointed", $"volume {name} already uses claim {claim}");
            return;
        }

        _volumes.Replace(index, PatchValue.Of((Name: name, Claim: claim), static (writer, volume) =>
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, volume.Name);
            writer.WriteStartObject("persistentVolumeClaim"u8);
            writer.WriteString("claimName"u8, volume.Claim);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }));
        _decision.CountRewrite(feature);
        _decision.Reason(feature, true, "repointed", $"volume {name} -> claim {claim}");
    }

    private void ApplySettings()
    {
        const string feature = "env";
        var text = _annotations.Get(SidecarsAnnotations.Settings);
        if (text is null)
        {
            _decision.Reason(feature, false, "no-settings", $"no {SidecarsAnnotations.Settings} annotation");
            return;
        }

        var settings = EnvSettings.Parse(text, out var problems);
        foreach (var problem in problems)
        {
            _decision.Warn($"{SidecarsAnnotations.Settings}: {problem}");
        }

        if (settings is null)
        {
            _decision.Reason(feature, false, "invalid-settings", problems.Count > 0 ? problems[0] : "unreadable settings");
            return;
        }

        var changed = 0;
        var ensured = 0;
        foreach (var (containerName, variables) in settings)
        {
            var container = _existing.Find(c => c.Name == containerName && !c.IsSidecar);
            if (container is null)
            {
                _decision.Warn($"{SidecarsAnnotations.Settings}: no container {containerName}");
                continue;
            }

            foreach (var (variable, value) in variables)
            {
                ensured++;
                if (SetEnv(container, variable, value))
                {
                    changed++;
                }
            }
        }

        if (changed > 0)
        {
            _decision.CountRewrite(feature, changed);
            _decision.Reason(feature, true, "set", $"{changed} variable(s) set");
        }
        else if (ensured > 0)
        {
            _decision.Reason(feature, true, "already-set", $"{ensured} variable(s) already set");
        }
        else
        {
            _decision.Reason(feature, false, problems.Count > 0 ? "invalid-settings" : "no-settings", "no variable to set");
        }
    }

    private void LabelOwner(Owner owner)
    {
        const string feature = "owner";
        var label = owner.Known ? OwnerNames.ToLabelValue(owner.Name) : OwnerNames.Unknown;
        var changed = _labels.Set(SidecarsLabels.Owner, label);
        changed |= _annotations.Set(SidecarsAnnotations.Owner, owner.Name);
        if (!owner.Known)
        {
            _decision.Reason(feature, true, "owner-unknown", $"owner {OwnerNames.Unknown}: {owner.Source}");
        }
        else
        {
            _decision.Reason(feature, true, changed ? "labelled" : "already-labelled", $"owner {owner.Name}, {owner.Source}");
        }
    }

    private PatchBuilder Emit()
    {
        var patch = _decision.Patch;
        foreach (var container in _existing)
        {
            container.Env.Flush(patch);
            container.Mounts.Flush(patch);
        }

        _volumes.Flush(patch);
        _pullSecrets.Flush(patch);
        _initContainers.Flush(patch);
        _containers.Flush(patch);

        if (!_record.IsEmpty)
        {
            _record.Merge(_annotations.Get(SidecarsAnnotations.Injected));
            _annotations.Set(SidecarsAnnotations.Injected, _record.ToString());
        }

        _labels.Flush(patch);
        _annotations.Flush(patch);
        return patch;
    }

    private SidecarRequest SidecarRequest(string blessing, string network = "")
    {
        var requests = Overrides(SidecarsAnnotations.SidecarRequests);
        var limits = Overrides(SidecarsAnnotations.SidecarLimits);
        var exit = ExitWhenAppsDone();
        return new SidecarRequest(blessing, exit, network, requests, limits) { ServiceAccount = AppServiceAccountMount() };
    }

    private Dictionary<string, string>? Overrides(string annotation)
    {
        if (_annotations.Get(annotation) is not { } text)
        {
            return null;
        }

        if (ResourceOverrides.TryParse(text, out var values, out var error))
        {
            return values;
        }

        _decision.Warn($"ignored {annotation}: {error}");
        return null;
    }

    /// <summary>
    /// The service account token mount the ServiceAccount admission plugin gave the app containers (it runs before
    /// webhooks). The sidecars get the same mount: the plugin would add it anyway when the admission chain runs again
    /// after a webhook's change, and with it already there the object stays as the webhook left it, so the apiserver
    /// does not call the webhook a second time (reinvocation IfNeeded).
    /// </summary>
    private (string Volume, string MountPath)? AppServiceAccountMount() =>
        AppContainers.Select(c => c.ServiceAccountVolume).FirstOrDefault(v => v is not null) is { } volume
            ? (volume, SidecarsNames.ServiceAccountDirectory)
            : null;

    /// <summary>
    /// Whether the sidecars of a legacy-mode Job pod exit once the apps finish. They watch their pod with the service
    /// account token mounted into them; a pod that turns the token off keeps its sidecars (with a warning).
    /// </summary>
    private bool ExitWhenAppsDone()
    {
        if (_exitResolved)
        {
            return _exit;
        }

        _exitResolved = true;
        if (_settings.Options.NativeSidecars || !_settings.Options.LegacyJobSupport || !IsJobPod())
        {
            return false;
        }

        if (_spec.Member("automountServiceAccountToken") is { ValueKind: JsonValueKind.False })
        {
            _decision.Warn("sidecars run until the pod is deleted: with automountServiceAccountToken: false they cannot watch " +
                "the app containers finish, so the Job will not complete");
            return false;
        }

        return _exit = true;
    }

    private bool IsJobPod()
    {
        var owners = ((JsonElement?)_input.Object).Object("metadata").Array("ownerReferences");
        if (owners is { } references)
        {
            foreach (var reference in references.EnumerateArray())
            {
                if (reference.String("kind") == "Job")
                {
                    return true;
                }
            }
        }

        var restartPolicy = _spec.String("restartPolicy");
        return restartPolicy is not null && restartPolicy != "Always";
    }

    private static string ModeNote(SidecarRequest request) => request.ExitWhenAppsDone ? "; exits when the app containers finish" : "";

    private bool HasContainer(string name) => _containers.Contains(name) || _initContainers.Contains(name);

    /// <summary>Puts the pod-agent first, among the init containers when it runs as a native sidecar.</summary>
    private void InjectPodAgent(PatchValue agent)
    {
        if (_settings.Options.NativeSidecars)
        {
            _initContainers.Prepend(SidecarsNames.PodAgentContainer, agent);
        }
        else
        {
            _containers.Prepend(SidecarsNames.PodAgentContainer, agent);
        }

        _newImages.Add(_settings.AgentImage);
        _decision.CountInjected("pod-agent");
    }

    private void EnsureVolume(string name, PatchValue volume)
    {
        _record.Add("volumes", name);
        if (!_volumes.Contains(name))
        {
            _volumes.Upsert(name, volume);
        }
    }

    /// <summary>Sets a plain env value, replacing a differing value or a valueFrom; returns whether it changed.</summary>
    private bool SetEnv(ContainerEdit container, string name, string value)
    {
        _record.Add("env", container.Name + "/" + name);
        if (container.Env.Existing(name) is { } existing && existing.String("value") == value && existing.Member("valueFrom") is null)
        {
            return false;
        }

        container.Env.Upsert(name, SidecarTemplates.Env(name, value));
        return true;
    }

    private void CollectContainers(string path, JsonElement? array, bool isInit)
    {
        if (array is not { } items)
        {
            return;
        }

        var index = 0;
        foreach (var item in items.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                index++;
                continue;
            }

            var itemPath = path + "/" + index.ToString(CultureInfo.InvariantCulture);
            var name = item.String("name") ?? "";
            var mounts = ((JsonElement?)item).Array("volumeMounts");
            _existing.Add(new ContainerEdit(itemPath, name, isInit, item.String("image"),
                new ArrayEdit(itemPath + "/env", ((JsonElement?)item).Array("env")),
                new ArrayEdit(itemPath + "/volumeMounts", mounts))
            {
                ServiceAccountVolume = ServiceAccountVolumeOf(mounts),
                PortNames = PortNamesOf(((JsonElement?)item).Array("ports")),
            });
            index++;
        }
    }

    private static string[] PortNamesOf(JsonElement? ports) => ports is { ValueKind: JsonValueKind.Array } items
        ? [.. items.EnumerateArray().Where(p => p.ValueKind == JsonValueKind.Object).Select(p => ((JsonElement?)p).String("name")).OfType<string>()]
        : [];

    private static string? ServiceAccountVolumeOf(JsonElement? mounts)
    {
        if (mounts is not { ValueKind: JsonValueKind.Array } items)
        {
            return null;
        }

        foreach (var mount in items.EnumerateArray())
        {
            if (mount.ValueKind == JsonValueKind.Object && ((JsonElement?)mount).String("mountPath") == SidecarsNames.ServiceAccountDirectory
                && ((JsonElement?)mount).String("name") is { Length: > 0 } volume)
            {
                return volume;
            }
        }

        return null;
    }

    private sealed record Owner(string Name, bool Known, string Source);

    private sealed class ContainerEdit(string path, string name, bool isInit, string? image, ArrayEdit env, ArrayEdit mounts)
    {
        public string Path { get; } = path;

        public string Name { get; } = name;

        public bool IsInit { get; } = isInit;

        public bool IsSidecar { get; } = name is SidecarsNames.PodAgentContainer or SidecarsNames.LightpeerContainer;

        public string? Image { get; set; } = image;

        public ArrayEdit Env { get; } = env;

        public ArrayEdit Mounts { get; } = mounts;

        /// <summary>The volume mounted at the service account token path, if any.</summary>
        public string? ServiceAccountVolume { get; init; }

        public IReadOnlyList<string> PortNames { get; init; } = [];
    }
}
