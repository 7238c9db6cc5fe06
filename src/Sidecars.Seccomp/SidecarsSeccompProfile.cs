using Sidecars.Conventions;

namespace Sidecars.Seccomp;

/// <summary>
/// The seccomp profile of Sidecars' NativeAOT processes: the injected sidecars (the webhook names it, Localhost
/// <see cref="SidecarsNames.SeccompProfile"/>) and the webhook's own pods (deploy/).
/// </summary>
/// <remarks>
/// An allowlist like the container runtime's default profile, narrowed to what these processes do (memory, threads,
/// the processes the pod-agent's hooks start, time and signals, files, sockets), with one addition the default refuses:
/// <c>userfaultfd</c>, and only with <c>UFFD_USER_MODE_ONLY</c>, which handles faults of the process's own user-space
/// pages and nothing of the kernel's. With it a fault on the process's code maps only the page touched
/// (<c>TouchedPagesOnly</c>): a few MiB less per sidecar than under the default profile. <c>clone</c> may not create
/// namespaces; <c>clone3</c>, whose flags a filter cannot read, answers ENOSYS so that the C library falls back to
/// <c>clone</c>. Mount, ptrace, bpf, keyrings, kernel modules, namespaces and setting the clock are refused (EPERM).
/// </remarks>
public static class SidecarsSeccompProfile
{
    private static readonly Lazy<byte[]> Bytes = new(Read);

    /// <summary>The profile's file name in its directory of the kubelet's seccomp root.</summary>
    public static string FileName { get; } = Path.GetFileName(SidecarsNames.SeccompProfile);

    /// <summary>The profile as the kubelet hands it to the runtime: OCI seccomp JSON.</summary>
    public static ReadOnlyMemory<byte> Content => Bytes.Value;

    private static byte[] Read()
    {
        using var stream = typeof(SidecarsSeccompProfile).Assembly.GetManifestResourceStream("sidecars.json")
            ?? throw new InvalidOperationException("the assembly carries no sidecars.json");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
