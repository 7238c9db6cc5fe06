using System.Text.Json;
using Sidecars.Conventions;

namespace Sidecars.Mutation;

/// <summary>The opt-in export of the pod-agent's TLS material (annotation <see cref="SidecarsAnnotations.ExportTls"/>).</summary>
internal static class TlsExport
{
    /// <summary>Whether the pod asks for it: the annotation's value is "true".</summary>
    public static bool Requested(string? annotation) => string.Equals(annotation, "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The arguments that make the injected pod-agent export it (last in its argument list).</summary>
    public static void WriteArgs(Utf8JsonWriter writer)
    {
        writer.WriteStringValue("--tls-dir"u8);
        writer.WriteStringValue(SidecarsNames.TlsDirectory);
    }
}
