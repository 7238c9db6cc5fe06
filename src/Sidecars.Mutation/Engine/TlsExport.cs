using System.Text.Json.Nodes;
using Sidecars.Conventions;

namespace Sidecars.Mutation;

/// <summary>The opt-in export of the pod-agent's TLS material (annotation <see cref="SidecarsAnnotations.ExportTls"/>).</summary>
internal static class TlsExport
{
    /// <summary>Adds <c>--tls-dir</c> to the injected pod-agent when the pod asks for it with "true".</summary>
    public static void Apply(JsonObject podAgent, string? annotation)
    {
        if (!string.Equals(annotation, "true", StringComparison.OrdinalIgnoreCase) || podAgent["args"] is not JsonArray args)
        {
            return;
        }

        args.Add((JsonNode)"--tls-dir");
        args.Add((JsonNode)SidecarsNames.TlsDirectory);
    }
}
