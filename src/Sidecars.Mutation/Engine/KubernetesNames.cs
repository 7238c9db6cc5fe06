using System.Text.RegularExpressions;

namespace Sidecars.Mutation;

/// <summary>Kubernetes name, label value and quantity syntax checks (source-generated, allocation-free regexes).</summary>
internal static partial class KubernetesNames
{
    public static bool IsDnsLabel(string value) => value.Length is > 0 and <= 63 && DnsLabel().IsMatch(value);

    public static bool IsDnsSubdomain(string value) => value.Length is > 0 and <= 253 && DnsSubdomain().IsMatch(value);

    public static bool IsLabelValue(string value) => value.Length == 0 || (value.Length <= 63 && LabelValue().IsMatch(value));

    public static bool IsQuantity(string value) => value.Length is > 0 and <= 64 && Quantity().IsMatch(value);

    public static bool IsResourceName(string value) => value.Length is > 0 and <= 253 && ResourceName().IsMatch(value);

    public static bool IsRegistry(string value) => value.Length <= 255 && Registry().IsMatch(value);

    /// <summary>A blessing extension: one component of a blessing name (no ':' separators, no spaces).</summary>
    public static bool IsBlessingExtension(string value) => value.Length is > 0 and <= 63 && BlessingExtension().IsMatch(value);

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelValue();

    [GeneratedRegex(@"^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Quantity();

    [GeneratedRegex(@"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex ResourceName();

    [GeneratedRegex(@"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex Registry();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex BlessingExtension();
}
