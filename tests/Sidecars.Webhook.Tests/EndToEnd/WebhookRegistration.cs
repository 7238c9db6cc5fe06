using k8s;
using k8s.Models;
using Sidecars.Webhook.Registration;

namespace Sidecars.Webhook.Tests.EndToEnd;

/// <summary>Registers a webhook served on loopback with the apiserver by URL.</summary>
internal static class WebhookRegistration
{
    public static Task<V1MutatingWebhookConfiguration> RegisterAsync(
        IKubernetes client, string name, Uri baseAddress, string caBundlePem, string failurePolicy, string reinvocation = "IfNeeded")
        => client.AdmissionregistrationV1.CreateMutatingWebhookConfigurationAsync(
            WebhookConfigurationFactory.ForUrl(name, baseAddress, caBundlePem, failurePolicy, reinvocation, timeoutSeconds: 5));

    public static Task DeleteAsync(IKubernetes client, string name)
        => client.AdmissionregistrationV1.DeleteMutatingWebhookConfigurationAsync(name);
}
