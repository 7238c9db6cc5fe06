namespace Sidecars.Mutation;

/// <summary>A JSON Patch operation that does not fit the document.</summary>
public sealed class JsonPatchException : Exception
{
    public JsonPatchException()
    {
    }

    public JsonPatchException(string message)
        : base(message)
    {
    }

    public JsonPatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
