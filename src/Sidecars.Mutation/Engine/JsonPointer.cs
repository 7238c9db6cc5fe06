namespace Sidecars.Mutation;

/// <summary>RFC 6901 JSON Pointer tokens: <c>~</c> is written <c>~0</c> and <c>/</c> is written <c>~1</c>.</summary>
public static class JsonPointer
{
    public static string Escape(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.AsSpan().IndexOfAny('~', '/') < 0)
        {
            return token;
        }

        return token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
    }

    public static string Unescape(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (!token.Contains('~', StringComparison.Ordinal))
        {
            return token;
        }

        return token.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
    }

    /// <summary>Splits a pointer into unescaped tokens; the empty pointer (the whole document) has none.</summary>
    public static IReadOnlyList<string> Parse(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            return [];
        }

        if (path[0] != '/')
        {
            throw new FormatException($"JSON pointer '{path}' must start with '/'");
        }

        var parts = path[1..].Split('/');
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = Unescape(parts[i]);
        }

        return parts;
    }
}
