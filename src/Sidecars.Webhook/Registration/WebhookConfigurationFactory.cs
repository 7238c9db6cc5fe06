using System.Text;
using k8s.Models;

namespace Sidecars.Webhook.Registration;

/// <summary>
/// Builds the MutatingWebhookConfiguration the webhook is registered with: pods (fail closed or open as asked),
/// workloads for owner stamping (always fail open), system namespaces excluded by the webhook itself.
/// deploy/base/webhook-configuration.yaml is the in-cluster equivalent addressed by Service.
/// </summary>
public static class WebhookConfigurationFactory
{
    public static V1MutatingWebhookConfiguration ForUrl(
        string name, Uri baseAddress, string caBundlePem, string podFailurePolicy = "Fail", string podReinvocation = "IfNeeded", int timeoutSeconds = 3)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        var client = new Admissionregistrationv1WebhookClientConfig
        {
            Url = new Uri(baseAddress, WebhookHostingExtensions.MutatePath).ToString(),
            CaBundle = Encoding.UTF8.GetBytes(caBundlePem),
        };
        var suffix = "." + name + ".sidecars.io";
        return new V1MutatingWebhookConfiguration
        {
            Metadata = new V1ObjectMeta { Name = name },
            Webhooks =
            [
                Hook("pods" + suffix, client, podFailurePolicy, podReinvocation, timeoutSeconds,
                    new V1RuleWithOperations { ApiGroups = [""], ApiVersions = ["v1"], Operations = ["CREATE"], Resources = ["pods"] }),
                Hook("workloads" + suffix, client, "Ignore", "Never", timeoutSeconds,
                    new V1RuleWithOperations
                    {
                        ApiGroups = ["apps"], ApiVersions = ["v1"], Operations = ["CREATE", "UPDATE"],
                        Resources = ["deployments", "replicasets", "statefulsets", "daemonsets"],
                    },
                    new V1RuleWithOperations { ApiGroups = ["batch"], ApiVersions = ["v1", "v1beta1"], Operations = ["CREATE", "UPDATE"], Resources = ["jobs", "cronjobs"] }),
            ],
        };
    }

    private static V1MutatingWebhook Hook(
        string name, Admissionregistrationv1WebhookClientConfig client, string failurePolicy, string reinvocation, int timeoutSeconds, params V1RuleWithOperations[] rules)
        => new()
        {
            Name = name,
            AdmissionReviewVersions = ["v1"],
            SideEffects = "None",
            FailurePolicy = failurePolicy,
            TimeoutSeconds = timeoutSeconds,
            ReinvocationPolicy = reinvocation,
            ClientConfig = client,
            Rules = rules,
        };
}
