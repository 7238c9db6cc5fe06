using System.Text;

namespace Sidecars.Mutation;

/// <summary>Renders, per document, each feature as applied (<c>+</c>) or not (<c>-</c>) with its reason code and why.</summary>
public static class Explainer
{
    public static string Render(IReadOnlyList<InjectedDocument> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var text = new StringBuilder();
        foreach (var document in documents)
        {
            var name = document.Name.Length > 0 ? document.Name : "(unnamed)";
            text.Append(document.Kind).Append(' ').Append(document.Namespace).Append('/').Append(name)
                .Append(" as ").Append(document.UserName).Append(": ").Append(Outcome(document.Decision)).Append('\n');
            Append(text, document.Decision, "  ");
            if (document.PodDecision is { } pod)
            {
                text.Append("  pod template, as created by ").Append(document.PodUser).Append(": ").Append(Outcome(pod)).Append('\n');
                Append(text, pod, "    ");
            }
        }

        return text.ToString();
    }

    public static string Outcome(AdmissionDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var outcome = decision.Outcome.ToString().ToUpperInvariant();
        return decision.Outcome == AdmissionOutcome.Mutated ? $"{outcome} ({decision.Patch.Count} patch operations)" : outcome;
    }

    private static void Append(StringBuilder text, AdmissionDecision decision, string indent)
    {
        foreach (var reason in decision.Reasons)
        {
            text.Append(indent).Append(reason.Applied ? "+ " : "- ").Append(reason.Feature.PadRight(12))
                .Append(' ').Append(reason.Code).Append(": ").Append(reason.Message).Append('\n');
        }

        foreach (var warning in decision.Warnings)
        {
            text.Append(indent).Append("! warning: ").Append(warning).Append('\n');
        }

        if (decision.Message is { } message)
        {
            text.Append(indent).Append("! denied: ").Append(message).Append('\n');
        }
    }
}
