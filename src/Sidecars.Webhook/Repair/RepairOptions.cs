namespace Sidecars.Webhook.Repair;

/// <summary>The loop that finds pods admitted while the webhook was unreachable.</summary>
public sealed class RepairOptions
{
    public const string Section = WebhookOptions.Section + ":Repair";

    public bool Enabled { get; set; } = true;

    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Evict such pods (only those with a controller) so they are recreated through the webhook.</summary>
    public bool Evict { get; set; }
}
