using System.Globalization;
using System.Text;

namespace Sidecars.Mutation;

/// <summary>A unified diff of two texts by lines (longest common subsequence, 3 lines of context).</summary>
public static class LineDiff
{
    private const int Context = 3;

    public static string Unified(string before, string after, string beforeName = "original", string afterName = "injected")
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var a = Lines(before);
        var b = Lines(after);
        var edits = Edits(a, b);
        if (edits.TrueForAll(e => e.Kind == ' '))
        {
            return "";
        }

        var text = new StringBuilder();
        text.Append("--- ").Append(beforeName).Append('\n').Append("+++ ").Append(afterName).Append('\n');
        var i = 0;
        while (i < edits.Count)
        {
            if (edits[i].Kind == ' ')
            {
                i++;
                continue;
            }

            var start = Math.Max(0, i - Context);
            var end = i;
            while (end < edits.Count)
            {
                if (edits[end].Kind != ' ')
                {
                    end++;
                    continue;
                }

                var run = end;
                while (run < edits.Count && edits[run].Kind == ' ')
                {
                    run++;
                }

                if (run == edits.Count || run - end > 2 * Context)
                {
                    end = Math.Min(edits.Count, end + Context);
                    break;
                }

                end = run;
            }

            AppendHunk(text, edits, start, end);
            i = end;
        }

        return text.ToString();
    }

    private static void AppendHunk(StringBuilder text, List<(char Kind, string Line, int A, int B)> edits, int start, int end)
    {
        var hunk = edits.GetRange(start, end - start);
        var aStart = hunk.Find(e => e.Kind != '+').A;
        var bStart = hunk.Find(e => e.Kind != '-').B;
        var aCount = hunk.Count(e => e.Kind != '+');
        var bCount = hunk.Count(e => e.Kind != '-');
        text.Append(CultureInfo.InvariantCulture, $"@@ -{aStart + 1},{aCount} +{bStart + 1},{bCount} @@\n");
        foreach (var (kind, line, _, _) in hunk)
        {
            text.Append(kind).Append(line).Append('\n');
        }
    }

    private static List<(char Kind, string Line, int A, int B)> Edits(string[] a, string[] b)
    {
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }

        var edits = new List<(char, string, int, int)>();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                edits.Add((' ', a[x], x, y));
                x++;
                y++;
            }
            else if (x < a.Length && (y == b.Length || lcs[x + 1, y] >= lcs[x, y + 1]))
            {
                edits.Add(('-', a[x], x, y));
                x++;
            }
            else
            {
                edits.Add(('+', b[y], x, y));
                y++;
            }
        }

        return edits;
    }

    private static string[] Lines(string text) => text.Length == 0 ? [] : text.TrimEnd('\n').Split('\n');
}
