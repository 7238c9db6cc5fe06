namespace Sidecars.Mutation;

/// <summary>The kind of object under admission (<c>request.kind</c>); the core group is the empty string.</summary>
public sealed record GroupVersionKind(string Group, string Version, string Kind)
{
    public static readonly GroupVersionKind Pod = new("", "v1", "Pod");

    public override string ToString() => Group.Length == 0 ? $"{Version}/{Kind}" : $"{Group}/{Version}/{Kind}";
}
