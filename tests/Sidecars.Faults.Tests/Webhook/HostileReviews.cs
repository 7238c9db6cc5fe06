using System.Text;
using System.Text.Json.Nodes;
using Sidecars.Conventions;

namespace Sidecars.Faults.Tests.Webhook;

/// <summary>
/// Hostile AdmissionReview bodies, generated deterministically from a seed and a set of real reviews: random bytes,
/// truncated reviews, deep nesting, oversized bodies, wrong kinds and operations, wrong JSON types, invalid UTF-8, and
/// hostile values in the annotations the webhook reads.
/// </summary>
internal sealed class HostileReviews(IReadOnlyList<string> reviews, int seed, int maxBytes)
{
    private static readonly string[] Annotations =
    [
        SidecarsAnnotations.Inject, SidecarsAnnotations.Blessing, SidecarsAnnotations.BlessingSecret, SidecarsAnnotations.Settings,
        SidecarsAnnotations.Owner, SidecarsAnnotations.SidecarRequests, SidecarsAnnotations.SidecarLimits, SidecarsAnnotations.ExportTls,
        SidecarsAnnotations.CopyToken, SidecarsAnnotations.User, SidecarsAnnotations.Injected,
    ];

    private static readonly string[] Kinds = ["Secret", "ConfigMap", "Node", "", "Pod\u0000", "pod", "Deployment", "Job", "CronJob", "StatefulSet", "x".PadRight(300, 'x')];

    private static readonly string[] Operations = ["DELETE", "CONNECT", "UPDATE", "", "create", "CREATE\n"];

    private readonly Random _random = new(seed);

    public const int Shapes = 10;

    /// <summary>The <paramref name="index"/>th body (its shape is <c>index % <see cref="Shapes"/></c>) and what it is.</summary>
    public (byte[] Body, string Shape) Next(int index)
    {
        var review = JsonNode.Parse(reviews[_random.Next(reviews.Count)])!.AsObject();
        var request = review["request"]!.AsObject();
        switch (index % Shapes)
        {
            case 0:
                var bytes = new byte[_random.Next(1, 4096)];
                _random.NextBytes(bytes);
                return (bytes, "random bytes");
            case 1:
                var whole = Encoding.UTF8.GetBytes(review.ToJsonString());
                return (whole[.._random.Next(0, whole.Length)], "truncated");
            case 2:
                var depth = _random.Next(32, 20_000);
                var open = _random.Next(2) == 0 ? "[" : "{\"a\":";
                var close = open == "[" ? "]" : "}";
                var nested = string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth));
                var json = review.ToJsonString();
                var at = json.IndexOf("\"annotations\":{", StringComparison.Ordinal);
                return (Encoding.UTF8.GetBytes(at < 0 ? nested : json.Insert(at + 15, "\"deep\":" + nested + ",")), "deeply nested");
            case 3:
                Metadata(request)["annotations"] = new JsonObject { ["padding"] = new string('x', maxBytes + _random.Next(1, 3 * maxBytes)) };
                return (Encoding.UTF8.GetBytes(review.ToJsonString()), "oversized");
            case 4:
                var kind = Kinds[_random.Next(Kinds.Length)];
                request["kind"] = new JsonObject { ["group"] = _random.Next(2) == 0 ? "" : "apps", ["version"] = "v1", ["kind"] = kind };
                if (_random.Next(2) == 0)
                {
                    request["object"]!.AsObject()["kind"] = kind;
                }

                return (Encoding.UTF8.GetBytes(review.ToJsonString()), "wrong kind");
            case 5:
                request["operation"] = Operations[_random.Next(Operations.Length)];
                if (_random.Next(2) == 0)
                {
                    request["object"] = null;
                }

                if (_random.Next(3) == 0)
                {
                    request["oldObject"] = request["object"]?.DeepClone();
                }

                return (Encoding.UTF8.GetBytes(review.ToJsonString()), "wrong operation");
            case 6:
                var annotations = new JsonObject();
                for (var i = _random.Next(1, 6); i > 0; i--)
                {
                    annotations[Annotations[_random.Next(Annotations.Length)]] = HostileValue();
                }

                Metadata(request)["annotations"] = annotations;
                return (Encoding.UTF8.GetBytes(review.ToJsonString()), "hostile annotations");
            case 7:
                WrongType(review);
                return (Encoding.UTF8.GetBytes(review.ToJsonString()), "wrong JSON types");
            case 8:
                var valid = Encoding.UTF8.GetBytes(review.ToJsonString());
                for (var i = _random.Next(1, 8); i > 0; i--)
                {
                    valid[_random.Next(valid.Length)] = (byte)_random.Next(0x80, 0x100);
                }

                return (valid, "invalid UTF-8");
            default:
                review["apiVersion"] = _random.Next(3) switch { 0 => "admission.k8s.io/v1beta1", 1 => "v1", _ => null };
                if (_random.Next(2) == 0)
                {
                    review["request"] = _random.Next(2) == 0 ? null : new JsonArray();
                }

                return (Encoding.UTF8.GetBytes(review.ToJsonString()), "wrong envelope");
        }
    }

    private static JsonObject Metadata(JsonObject request) =>
        request["object"]?["metadata"] as JsonObject ?? new JsonObject();

    private JsonNode? HostileValue() => _random.Next(8) switch
    {
        0 => new string('a', _random.Next(1, 60_000)),
        1 => "\u0000\u0001\u001b[31m\r\n\t\u2028\u202e",
        2 => "{\"cpu\":\"-1\",\"memory\":\"1e400\"}",
        3 => "../../../../etc/passwd",
        4 => string.Concat(Enumerable.Repeat("a:", _random.Next(1, 2_000))),
        5 => "${HOME}$(reboot)`id`",
        6 => "\ud800",
        _ => "cpu=9999999999999999999999,memory=NaN",
    };

    /// <summary>Replaces one field the webhook reads with a value of the wrong JSON type.</summary>
    private void WrongType(JsonObject review)
    {
        JsonNode? Wrong() => _random.Next(5) switch
        {
            0 => 42,
            1 => "string",
            2 => new JsonArray(1, 2),
            3 => new JsonObject { ["x"] = true },
            _ => null,
        };

        var request = review["request"]!.AsObject();
        var obj = request["object"] as JsonObject;
        var spec = obj?["spec"] as JsonObject;
        switch (_random.Next(8))
        {
            case 0: request["uid"] = Wrong(); break;
            case 1: request["object"] = Wrong(); break;
            case 2: if (obj is not null) { obj["metadata"] = Wrong(); } break;
            case 3: if (spec is not null) { spec["containers"] = Wrong(); } break;
            case 4: if (spec?["containers"] is JsonArray { Count: > 0 } containers) { containers[0] = Wrong(); } break;
            case 5: if (spec is not null) { spec["volumes"] = Wrong(); } break;
            case 6: Metadata(request)["annotations"] = Wrong(); break;
            default: request["namespace"] = Wrong(); break;
        }
    }
}
