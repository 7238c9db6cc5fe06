using System.Runtime.CompilerServices;
using System.Xml.Linq;

namespace Sidecars.Architecture.Tests;

/// <summary>The project references of the product's projects against the table in docs/architecture.md.</summary>
public sealed class ProjectReferenceTests
{
    private static readonly string Root = Path.GetFullPath(Path.Combine(SourceDirectory(), "..", ".."));

    private static readonly IReadOnlyDictionary<string, Project> Projects = Directory
        .EnumerateFiles(Path.Combine(Root, "src"), "*.csproj", SearchOption.AllDirectories)
        .Concat(Directory.EnumerateFiles(Path.Combine(Root, "agent"), "*.csproj"))
        .Concat(Directory.EnumerateFiles(Path.Combine(Root, "webhook"), "*.csproj"))
        .Select(Project.Read)
        .ToDictionary(p => p.Name, StringComparer.Ordinal);

    private static readonly IReadOnlyDictionary<string, HashSet<string>> Allowed = ReadTable();

    [Fact]
    public void Every_project_references_only_what_its_row_allows()
    {
        var violations = Projects.Values
            .Where(p => Allowed.ContainsKey(p.Name))
            .SelectMany(p => p.References.Where(r => !Allowed[p.Name].Contains(r)).Select(r => $"{p.Name} -> {r}"))
            .ToList();

        Assert.True(violations.Count == 0, "references docs/architecture.md does not allow: " + string.Join(", ", violations));
    }

    [Fact]
    public void Every_project_has_a_row_and_every_row_a_project()
    {
        Assert.Empty(Projects.Keys.Except(Allowed.Keys).Order(StringComparer.Ordinal));
        Assert.Empty(Allowed.Keys.Except(Projects.Keys).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Nothing_the_NativeAOT_agent_links_depends_on_the_Kubernetes_client()
    {
        var closure = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(["Sidecars.Agent"]);
        while (pending.TryPop(out var name))
        {
            if (closure.Add(name))
            {
                foreach (var reference in Projects[name].References)
                {
                    pending.Push(reference);
                }
            }
        }

        var offending = closure.Where(n => Projects[n].Packages.Any(p => p.StartsWith("KubernetesClient", StringComparison.Ordinal)) || n == "Sidecars.Kubernetes");
        Assert.Empty(offending);
        Assert.Contains("Sidecars.PodAgent", closure);
    }

    private static Dictionary<string, HashSet<string>> ReadTable()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "docs", "architecture.md"));
        var table = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var line in lines.SkipWhile(l => l != "## Projects").Skip(1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal)))
        {
            var cells = line.Split('|', StringSplitOptions.TrimEntries);
            if (cells.Length < 6 || !cells[1].StartsWith("Sidecars.", StringComparison.Ordinal))
            {
                continue;
            }

            table[cells[1]] = cells[4] == "—"
                ? []
                : new HashSet<string>(cells[4].Split(',', StringSplitOptions.TrimEntries), StringComparer.Ordinal);
        }

        Assert.NotEmpty(table);
        return table;
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    private sealed record Project(string Name, IReadOnlyList<string> References, IReadOnlyList<string> Packages)
    {
        public static Project Read(string path)
        {
            var xml = XDocument.Load(path);
            return new Project(
                Path.GetFileNameWithoutExtension(path),
                [.. xml.Descendants("ProjectReference").Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))],
                [.. xml.Descendants("PackageReference").Select(r => r.Attribute("Include")!.Value)]);
        }
    }
}
