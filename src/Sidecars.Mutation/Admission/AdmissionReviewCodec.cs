using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Unicode;

namespace Sidecars.Mutation;

/// <summary>Reads <c>admission.k8s.io/v1</c> AdmissionReview requests and writes their responses.</summary>
public static class AdmissionReviewCodec
{
    public const string ApiVersion = "admission.k8s.io/v1";
    public const string ReviewKind = "AdmissionReview";
    private const int MaxDepth = 128;
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };

    private const string NotUtf8 = "malformed JSON: the body is not valid UTF-8";

    /// <summary>Parses a review; on failure returns false with a reason a person can act on. Never throws for bad input.</summary>
    public static bool TryRead(ReadOnlySpan<byte> json, [NotNullWhen(true)] out AdmissionInput? input, [NotNullWhen(false)] out string? error)
    {
        input = null;
        if (!Utf8.IsValid(json))
        {
            error = NotUtf8;
            return false;
        }

        JsonElement root;
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            root = JsonElement.ParseValue(ref reader);
            if (reader.Read())
            {
                error = "malformed JSON: data after the review";
                return false;
            }
        }
        catch (JsonException e)
        {
            error = "malformed JSON: " + e.Message;
            return false;
        }

        return TryReadReview(root, out input, out error);
    }

    /// <summary>
    /// Parses a review without copying it: the input's elements point into <paramref name="json"/> and a pooled index,
    /// both valid until <paramref name="document"/> is disposed (it is null when parsing failed). For a server that
    /// holds the request body in a pooled buffer for the whole request.
    /// </summary>
    public static bool TryRead(ReadOnlyMemory<byte> json, [NotNullWhen(true)] out AdmissionInput? input, [NotNullWhen(false)] out string? error, out IDisposable? document)
    {
        input = null;
        document = null;
        if (!Utf8.IsValid(json.Span))
        {
            // The reader checks structure, not the bytes inside strings: those would fail when first read as text,
            // deep in the decision, as an internal error instead of this.
            error = NotUtf8;
            return false;
        }

        JsonDocument parsed;
        try
        {
            parsed = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            error = "malformed JSON: " + e.Message;
            return false;
        }

        document = parsed;
        return TryReadReview(parsed.RootElement, out input, out error);
    }

    /// <summary>The v1 response: patch (base64 JSON Patch) only when non-empty, warnings, status when denied.</summary>
    public static byte[] WriteResponse(string uid, AdmissionDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var buffer = new ArrayBufferWriter<byte>(256 + (decision.PatchJson.Length * 4 / 3));
        WriteResponse(buffer, uid, decision);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the v1 response straight into <paramref name="output"/> (a response body, say).</summary>
    public static void WriteResponse(IBufferWriter<byte> output, string uid, AdmissionDecision decision)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(uid);
        ArgumentNullException.ThrowIfNull(decision);
        var patch = decision.PatchJson.Length > 0 || decision.Patch.Count == 0
            ? decision.PatchJson
            : PatchBuilder.Serialize(decision.Patch);
        Write(output, uid, decision.Allowed, decision.Allowed ? patch.Span : default, decision.Warnings, decision.Allowed ? null : decision.Message ?? "denied");
    }

    private static void Write(IBufferWriter<byte> output, string uid, bool allowed, ReadOnlySpan<byte> patch, IReadOnlyList<string> warnings, string? status)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("apiVersion"u8, ApiVersion);
        writer.WriteString("kind"u8, ReviewKind);
        writer.WriteStartObject("response"u8);
        writer.WriteString("uid"u8, uid);
        writer.WriteBoolean("allowed"u8, allowed);
        if (!patch.IsEmpty)
        {
            writer.WriteString("patchType"u8, "JSONPatch"u8);
            writer.WriteBase64String("patch"u8, patch);
        }

        if (warnings.Count > 0)
        {
            writer.WriteStartArray("warnings"u8);
            foreach (var warning in warnings)
            {
                writer.WriteStringValue(warning);
            }

            writer.WriteEndArray();
        }

        if (status is not null)
        {
            writer.WriteStartObject("status"u8);
            writer.WriteNumber("code"u8, 403);
            writer.WriteString("message"u8, status);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static bool TryReadReview(JsonElement root, [NotNullWhen(true)] out AdmissionInput? input, [NotNullWhen(false)] out string? error)
    {
        input = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "expected an AdmissionReview object";
            return false;
        }

        if (root.String("apiVersion") is var apiVersion && apiVersion != ApiVersion)
        {
            error = $"unsupported apiVersion '{apiVersion}' (expected {ApiVersion})";
            return false;
        }

        if (root.String("kind") is var kind && kind != ReviewKind)
        {
            error = $"unsupported kind '{kind}' (expected {ReviewKind})";
            return false;
        }

        JsonElement? request = ((JsonElement?)root).Object("request");
        if (request is null)
        {
            error = "the review has no request";
            return false;
        }

        return TryReadRequest(request.Value, out input, out error);
    }

    private static bool TryReadRequest(JsonElement request, [NotNullWhen(true)] out AdmissionInput? input, [NotNullWhen(false)] out string? error)
    {
        input = null;
        var uid = request.String("uid");
        if (string.IsNullOrEmpty(uid))
        {
            error = "request.uid is missing";
            return false;
        }

        JsonElement? req = request;
        var kind = req.Object("kind");
        var kindName = kind.String("kind");
        var version = kind.String("version");
        if (string.IsNullOrEmpty(kindName) || string.IsNullOrEmpty(version))
        {
            error = "request.kind is missing or incomplete";
            return false;
        }

        var operation = request.String("operation");
        if (operation is not ("CREATE" or "UPDATE" or "DELETE" or "CONNECT"))
        {
            error = $"request.operation '{operation}' is not CREATE, UPDATE, DELETE or CONNECT";
            return false;
        }

        var userInfo = req.Object("userInfo");
        var user = userInfo.String("username");
        if (user is null)
        {
            error = "request.userInfo.username is missing";
            return false;
        }

        var obj = req.Member("object");
        if (obj is null && operation is "CREATE" or "UPDATE")
        {
            error = $"request.object is missing for {operation}";
            return false;
        }

        if (obj is { } o && o.ValueKind != JsonValueKind.Object)
        {
            error = "request.object is not an object";
            return false;
        }

        var groups = new List<string>();
        if (userInfo.Array("groups") is { } groupArray)
        {
            foreach (var group in groupArray.EnumerateArray())
            {
                if (group.ValueKind == JsonValueKind.String)
                {
                    groups.Add(group.GetString()!);
                }
            }
        }

        input = new AdmissionInput
        {
            Uid = uid,
            Kind = new GroupVersionKind(kind.String("group") ?? "", version, kindName),
            Resource = req.Object("resource").String("resource"),
            SubResource = request.String("subResource"),
            Operation = operation,
            Namespace = request.String("namespace") ?? "",
            Name = request.String("name"),
            UserName = user,
            UserGroups = groups,
            DryRun = req.Member("dryRun") is { ValueKind: JsonValueKind.True },
            Object = obj ?? NullElement,
            OldObject = req.Object("oldObject"),
        };
        error = null;
        return true;
    }

    private static readonly JsonElement NullElement = JsonElement.Parse("null"u8);
}
