using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Sidecars.Mutation;

[JsonSerializable(typeof(JsonNode))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
