namespace Sidecars.Webhook.Admission;

/// <summary>Labels of a namespace, needed to decide opt-in (the AdmissionReview does not carry them).</summary>
public interface INamespaceLabelSource
{
    ValueTask<IReadOnlyDictionary<string, string>?> GetLabelsAsync(string @namespace, CancellationToken cancellationToken);
}
