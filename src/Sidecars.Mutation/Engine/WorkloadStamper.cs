using System.Text.Json;
using Sidecars.Conventions;

namespace Sidecars.Mutation;

/// <summary>
/// Stamps the creating user into a workload's pod template (<c>sidecars.io/created-by</c>) so the pods its
/// controller creates can be owned by the person. A person's own stamp is never trusted: CREATE writes the
/// requesting user, UPDATE restores the stored stamp. Trusted controllers (creating ReplicaSets, Jobs) keep the
/// stamp they copied.
/// </summary>
internal sealed class WorkloadStamper(EngineSettings settings, AdmissionInput input, IReadOnlyList<string> templatePath)
{
    private const string Feature = "owner-stamp";
    private readonly DecisionCollector _decision = new();

    public AdmissionDecision Decide()
    {
        if (!string.IsNullOrEmpty(input.SubResource))
        {
            return _decision.Skip("admission", "subresource", $"subresource {input.SubResource} is never mutated");
        }

        if (settings.ExcludedNamespaces.Contains(input.Namespace))
        {
            return _decision.Skip("admission", "namespace-excluded", $"namespace {input.Namespace} is excluded");
        }

        if (input.Operation is not ("CREATE" or "UPDATE"))
        {
            return _decision.Unchanged("admission", "operation-ignored", $"{input.Operation} is not stamped");
        }

        if (Navigate(input.Object) is not { } template)
        {
            return _decision.Unchanged(Feature, "no-template", "the object has no pod template");
        }

        var current = ((JsonElement?)template).Object("metadata").Object("annotations").String(SidecarsAnnotations.CreatedBy);
        var trusted = settings.TrustedControllers.Contains(input.UserName);
        var old = input.Operation == "UPDATE" && input.OldObject is { } oldObject
            ? ((JsonElement?)Navigate(oldObject)).Object("metadata").Object("annotations").String(SidecarsAnnotations.CreatedBy)
            : null;

        string? desired;
        string source;
        if (!string.IsNullOrEmpty(old))
        {
            (desired, source) = (old, "kept from the stored object");
        }
        else if (trusted)
        {
            (desired, source) = (current, $"copied by {input.UserName}");
        }
        else
        {
            (desired, source) = (input.UserName, "the requesting user");
        }

        if (string.IsNullOrEmpty(desired))
        {
            _decision.Warn($"no {SidecarsAnnotations.CreatedBy} stamp to copy: its pods' owner will be unknown");
            return _decision.Unchanged(Feature, "stamp-missing", $"{input.UserName} is a controller and the template has no stamp");
        }

        if (desired == current)
        {
            return _decision.Unchanged(Feature, "already-stamped", $"template stamped {desired} ({source})");
        }

        Stamp(template, desired);
        _decision.CountRewrite("stamp");
        var code = current is null ? "stamped" : "stamp-overwritten";
        _decision.Reason(Feature, true, code, $"template stamped {desired} ({source})");
        return _decision.Finish(_decision.Patch);
    }

    private void Stamp(JsonElement template, string user)
    {
        var path = "/" + string.Join('/', templatePath.Select(JsonPointer.Escape));
        JsonElement? metadata = ((JsonElement?)template).Object("metadata");
        if (metadata is null)
        {
            _decision.Patch.Add(path + "/metadata", PatchValue.Of(user, static (writer, user) =>
            {
                writer.WriteStartObject();
                writer.WriteStartObject("annotations"u8);
                writer.WriteString(SidecarsAnnotations.CreatedBy, user);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }));
            return;
        }

        var annotations = new MapEdit(path + "/metadata/annotations", metadata.Object("annotations"));
        annotations.Set(SidecarsAnnotations.CreatedBy, user);
        annotations.Flush(_decision.Patch);
    }

    private JsonElement? Navigate(JsonElement root)
    {
        JsonElement? current = root;
        foreach (var member in templatePath)
        {
            current = current.Object(member);
            if (current is null)
            {
                return null;
            }
        }

        return current;
    }
}
