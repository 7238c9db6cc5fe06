using System.Text.Json;
using System.Text.Json.Serialization;
using k8s.Models;
using Sidecars.Kubernetes;

namespace Sidecars.Webhook;

/// <summary>The kinds the webhook writes besides those <see cref="KubernetesJsonMetadata"/> describes.</summary>
[JsonSerializable(typeof(V1MutatingWebhookConfiguration))]
[JsonSerializable(typeof(Corev1Event))]
[JsonSerializable(typeof(V1Eviction))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext
{
    public static WebhookJsonContext Shared { get; } = new(KubernetesJsonOptions.Create());
}
