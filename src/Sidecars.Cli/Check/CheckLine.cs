namespace Sidecars.Cli.Check;

internal enum CheckStatus
{
    Ok,

    /// <summary>Not a failure: something could not be checked from here, or is worth a look.</summary>
    Warn,

    Fail,
}

/// <summary>One line of <c>sidecarsctl check</c>: what was checked, what was found, and what to do on a failure.</summary>
internal sealed record CheckLine(CheckStatus Status, string Subject, string Message, string? Hint = null)
{
    public static CheckLine Ok(string subject, string message) => new(CheckStatus.Ok, subject, message);

    public static CheckLine Warn(string subject, string message, string? hint = null) => new(CheckStatus.Warn, subject, message, hint);

    public static CheckLine Fail(string subject, string message, string hint) => new(CheckStatus.Fail, subject, message, hint);

    public override string ToString()
    {
        var mark = Status switch
        {
            CheckStatus.Ok => "[ok]  ",
            CheckStatus.Warn => "[warn]",
            _ => "[FAIL]",
        };
        return $"{mark} {Subject}: {Message}{(Hint is null ? string.Empty : $" (hint: {Hint})")}";
    }
}
