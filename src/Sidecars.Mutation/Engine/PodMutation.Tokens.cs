using System.Text.RegularExpressions;
using Sidecars.Conventions;

namespace Sidecars.Mutation;

/// <summary>
/// Token collection: pods with the copy-token annotation get the shared token volume in their first app container,
/// read-only in the pod-agent that serves it; without a blessing the pod-agent runs in tokens-only mode.
/// </summary>
internal sealed partial class PodMutation
{
    private IReadOnlyList<string>? _tokenKeys;

    /// <summary>Valid keys of the copy-token annotation (separated by commas, semicolons or spaces), in order.</summary>
    private IReadOnlyList<string> TokenKeys => _tokenKeys ??= ParseTokenKeys();

    private void PlanTokens()
    {
        const string feature = "tokens";
        if (TokenKeys.Count == 0)
        {
            _decision.Reason(feature, false, "not-requested", $"no {SidecarsAnnotations.CopyToken} annotation with a valid key");
            return;
        }

        var first = AppContainers.FirstOrDefault();
        if (first is null)
        {
            _decision.Reason(feature, false, "no-app-container", "the pod has no app container to write tokens");
            return;
        }

        var directory = _settings.Options.TokenDirectory;
        EnsureVolume(SidecarsNames.TokenVolume, _settings.Templates.TokenVolume());
        if (!first.Mounts.Contains(SidecarsNames.TokenVolume))
        {
            first.Mounts.Upsert(SidecarsNames.TokenVolume, _settings.Templates.TokenWriterMount());
        }

        SetEnv(first, SidecarsNames.TokenDirectoryEnv, directory);
        _decision.Reason(feature, true, "mounted",
            $"container {first.Name} writes {string.Join(", ", TokenKeys.Select(k => directory.TrimEnd('/') + "/" + k))}; the pod-agent serves them");
    }

    private void PlanTokensOnlyAgent()
    {
        const string feature = "pod-agent";
        var request = SidecarRequest(blessing: "") with { TokensOnly = true, TokenDirectory = _settings.Options.TokenDirectory };
        if (HasContainer(SidecarsNames.PodAgentContainer))
        {
            _decision.Reason(feature, true, "already-injected", $"container {SidecarsNames.PodAgentContainer} already present");
        }
        else
        {
            InjectPodAgent(_settings.Templates.PodAgent(request));
            EnsureVolume(SidecarsNames.TrustBundleVolume, _settings.Templates.TrustBundleVolume());
            _decision.Reason(feature, true, "injected-tokens-only",
                $"tokens only (no {SidecarsAnnotations.Blessing} annotation): serves {string.Join(", ", TokenKeys)}" + ModeNote(request));
        }

        _record.Add("containers", SidecarsNames.PodAgentContainer);
        _labels.Set(SidecarsLabels.PodAgent, "true");
    }

    private List<string> ParseTokenKeys()
    {
        var keys = new List<string>();
        var text = _annotations.Get(SidecarsAnnotations.CopyToken);
        foreach (var key in (text ?? "").Split([',', ' ', ';', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (key is "." or ".." || !TokenKey().IsMatch(key))
            {
                _decision.Warn($"ignored {SidecarsAnnotations.CopyToken} key '{key}': keys are file names of letters, digits, '.', '_', '-' (at most 63)");
            }
            else if (!keys.Contains(key))
            {
                keys.Add(key);
            }
        }

        return keys;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex TokenKey();
}
