using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Sidecars.Observability;

/// <summary>
/// Makes a page fault on the process's clean file mappings map only the page touched, not its neighbours too.
/// </summary>
/// <remarks>
/// On a read fault in a file mapping the kernel also maps the neighbours of the page that are in the page cache (its
/// 64 KiB "fault-around"). For an agent that is the larger part of what serving keeps resident: a request runs a few
/// hundred KiB of code spread over the binary, and each page of it brought 15 neighbours that nothing runs. A mapping
/// registered with a userfaultfd in write-protect mode is never faulted around, and in asynchronous mode (Linux 6.7,
/// <c>UFFD_FEATURE_WP_ASYNC</c>) the kernel resolves write-protect faults itself: no thread reads the descriptor, no
/// page is write-protected, and the registration changes nothing else. The descriptor stays open for the life of the
/// process (closing it unregisters). Where the kernel is older, or a seccomp profile refuses <c>userfaultfd</c>,
/// <see cref="Register"/> does nothing and faults map as before.
/// </remarks>
public static partial class TouchedPagesOnly
{
    private const ulong UffdApi = 0xAA;
    private const ulong FeatureWpAsync = 1UL << 15;
    private const ulong RegisterModeWp = 1UL << 1;
    private const int UserModeOnly = 1;
    private const int CloseOnExec = 0x80000;
    private const int NonBlocking = 0x800;

    // _IOWR(0xAA, 0x3F, struct uffdio_api) and _IOWR(0xAA, 0x00, struct uffdio_register).
    private const ulong IoctlApi = 0xC018AA3F;
    private const ulong IoctlRegister = 0xC020AA00;

    private static readonly Lock Gate = new();
    private static readonly HashSet<(ulong Start, ulong End)> Registered = [];
    private static SafeFileHandle? _descriptor;
    private static bool _unavailable;

    /// <summary>Whether the kernel takes the registration (known after the first <see cref="Register"/>).</summary>
    public static bool Available => _descriptor is not null;

    /// <summary>For the log: whether faults map only the page touched, or why not.</summary>
    public static string Status => _descriptor is not null ? "yes" : $"no ({Refusal})";

    /// <summary>Why faults map as before: the kernel's refusal, or that no registration was tried.</summary>
    public static string Refusal => _unavailable ? _refusal : _descriptor is null ? "not tried" : string.Empty;

    private static string _refusal = string.Empty;

    /// <summary>Registers the mappings not registered yet; returns how many were registered now.</summary>
    public static int Register(IEnumerable<(ulong Start, ulong End)> mappings)
    {
        ArgumentNullException.ThrowIfNull(mappings);
        lock (Gate)
        {
            if (_unavailable || (_descriptor is null && !Open()))
            {
                return 0;
            }

            var registered = 0;
            foreach (var mapping in mappings)
            {
                if (!Registered.Contains(mapping) && RegisterRange(_descriptor!, mapping.Start, mapping.End - mapping.Start))
                {
                    Registered.Add(mapping);
                    registered++;
                }
            }

            return registered;
        }
    }

    private static bool Open()
    {
        var fd = UserfaultfdSyscall(UserModeOnly | CloseOnExec | NonBlocking);
        if (fd < 0)
        {
            // EPERM: a seccomp profile refuses userfaultfd (containerd's default does); EINVAL: Linux before 5.11.
            _refusal = $"userfaultfd refused: errno {Marshal.GetLastPInvokeError()}";
            _unavailable = true;
            return false;
        }

        var handle = new SafeFileHandle((nint)fd, ownsHandle: true);
        var api = new UffdioApi { Api = UffdApi, Features = FeatureWpAsync };
        if (Ioctl(handle, IoctlApi, ref api) != 0 || (api.Features & FeatureWpAsync) == 0)
        {
            _refusal = "the kernel has no asynchronous write-protect mode (Linux before 6.7)";
            handle.Dispose();
            _unavailable = true;
            return false;
        }

        _descriptor = handle;
        return true;
    }

    private static bool RegisterRange(SafeFileHandle descriptor, ulong start, ulong length)
    {
        var register = new UffdioRegister { Start = start, Length = length, Mode = RegisterModeWp };
        return Ioctl(descriptor, IoctlRegister, ref register) == 0;
    }

    private static int UserfaultfdSyscall(int flags) =>
        (int)Syscall(RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 282 : 323, flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct UffdioApi
    {
        public ulong Api;
        public ulong Features;
        public ulong Ioctls;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct UffdioRegister
    {
        public ulong Start;
        public ulong Length;
        public ulong Mode;
        public ulong Ioctls;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long argument);

    [LibraryImport("libc", EntryPoint = "ioctl")]
    private static partial int Ioctl(SafeFileHandle descriptor, ulong request, ref UffdioApi api);

    [LibraryImport("libc", EntryPoint = "ioctl")]
    private static partial int Ioctl(SafeFileHandle descriptor, ulong request, ref UffdioRegister register);
}
