using Sidecars.Conventions;

namespace Sidecars.Seccomp;

/// <summary>
/// The seccomp profile the webhook gives the injected sidecars (<c>Localhost</c>, <see cref="SidecarsNames.AgentSeccompProfile"/>).
/// </summary>
/// <remarks>
/// An allowlist like the container runtime's default profile, narrowed to what the agent binary does (memory, threads,
/// the processes its hooks start, time and signals, files, sockets), with one addition the default refuses:
/// <c>userfaultfd</c>, and only with <c>UFFD_USER_MODE_ONLY</c>, which handles faults of the process's own user-space
/// pages and nothing of the kernel's. With it a fault on the agent's code maps only the page touched
/// (<c>TouchedPagesOnly</c>), a few MiB less per sidecar than under the default profile. <c>clone</c> may not create
/// namespaces, <c>clone3</c> (whose flags a filter cannot read) answers ENOSYS so that the C library falls back to
/// <c>clone</c>; mount, ptrace, bpf, keyrings, kernel modules, namespaces and clock setting are refused (EPERM).
/// </remarks>
public static class SeccompProfiles
{
    private static readonly Lazy<byte[]> AgentBytes = new(() => Read("agent.json"));

    /// <summary>The profile's file name in its directory of the kubelet's seccomp root.</summary>
    public static string AgentFileName { get; } = Path.GetFileName(SidecarsNames.AgentSeccompProfile);

    /// <summary>The profile as the kubelet hands it to the runtime: OCI seccomp JSON.</summary>
    public static ReadOnlyMemory<byte> Agent => AgentBytes.Value;

    private static byte[] Read(string name)
    {
        using var stream = typeof(SeccompProfiles).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"the assembly carries no {name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
