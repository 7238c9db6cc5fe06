using System.Text;
using k8s;
using k8s.Models;

namespace Sidecars.Webhook.Tests.EndToEnd;

/// <summary>Registers a webhook served on loopback with the apiserver by URL, as the deploy/ configuration does by Service.</summary>
internal static class WebhookRegistration
{
    public static async Task<V1MutatingWebhookConfiguration> RegisterAsync(
        IKubernetes client, string name, Uri baseAddress, string caBundlePem, string failurePolicy, string? onlyNamespace = null, string reinvocation = "IfNeeded")
    {
        var url = new Uri(baseAddress, "/mutate").ToString();
        V1LabelSelector? selector = onlyNamespace is null
            ? null
            : new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["sidecars-test/namespace"] = onlyNamespace } };
        var configuration = new V1MutatingWebhookConfiguration
        {
            Metadata = new V1ObjectMeta { Name = name },
            Webhooks =
            [
                Hook("pods." + name, url, caBundlePem, failurePolicy, reinvocation, selector,
                    new V1RuleWithOperations { ApiGroups = [""], ApiVersions = ["v1"], Operations = ["CREATE"], Resources = ["pods"] }),
                Hook("workloads." + name, url, caBundlePem, "Ignore", "Never", selector,
                    new V1RuleWithOperations { ApiGroups = ["apps"], ApiVersions = ["v1"], Operations = ["CREATE", "UPDATE"], Resources = ["deployments", "replicasets"] },
                    new V1RuleWithOperations { ApiGroups = ["batch"], ApiVersions = ["v1"], Operations = ["CREATE", "UPDATE"], Resources = ["jobs"] }),
            ],
        };
        return await client.AdmissionregistrationV1.CreateMutatingWebhookConfigurationAsync(configuration);
    }

    public static Task DeleteAsync(IKubernetes client, string name)
        => client.AdmissionregistrationV1.DeleteMutatingWebhookConfigurationAsync(name);

    private static V1MutatingWebhook Hook(string name, string url, string caBundlePem, string failurePolicy, string reinvocation, V1LabelSelector? selector, params V1RuleWithOperations[] rules)
        => new()
        {
            Name = name.Replace("sidecars-", "sidecars.", StringComparison.Ordinal) + ".test",
            AdmissionReviewVersions = ["v1"],
            SideEffects = "None",
            FailurePolicy = failurePolicy,
            TimeoutSeconds = 5,
            ReinvocationPolicy = reinvocation,
            NamespaceSelector = selector,
            ClientConfig = new Admissionregistrationv1WebhookClientConfig { Url = url, CaBundle = Encoding.UTF8.GetBytes(caBundlePem) },
            Rules = rules,
        };
}
