using System.Text.Json;

namespace Sidecars.RealNode.Tests;

/// <summary>
/// The lane apiserver's audit log (tests/realnode/up.sh), which records the requests of the ServiceAccounts of
/// sidecars-system: every refusal (403) of one of Sidecars' components is an RBAC rule deploy/ lacks.
/// </summary>
internal static class AuditLog
{
    public static string Path => System.IO.Path.Combine(Lane.StateDirectory, "logs", "audit.log");

    /// <summary>The refused requests recorded so far: "user verb resource namespace/name" per line.</summary>
    public static IReadOnlyList<string> Forbidden()
    {
        Assert.True(File.Exists(Path), $"no audit log at {Path}: the lane predates its audit policy (restart it with down.sh, up.sh)");
        var refused = new List<string>();
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (!line.Contains("\"code\":403", StringComparison.Ordinal))
            {
                continue;
            }

            using var entry = JsonDocument.Parse(line);
            var root = entry.RootElement;
            if (root.GetProperty("stage").GetString() != "ResponseComplete")
            {
                continue;
            }

            var user = root.GetProperty("user").GetProperty("username").GetString();
            var verb = root.GetProperty("verb").GetString();
            var target = root.TryGetProperty("objectRef", out var o)
                ? $"{Text(o, "resource")}/{Text(o, "subresource")} {Text(o, "namespace")}/{Text(o, "name")}"
                : root.GetProperty("requestURI").GetString();
            refused.Add($"{user} {verb} {target}");
        }

        return refused;
    }

    private static string Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) ? value.GetString() ?? string.Empty : string.Empty;
}
