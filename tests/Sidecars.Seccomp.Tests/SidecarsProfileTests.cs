using System.Text.Json;
using Sidecars.Seccomp;

namespace Sidecars.Seccomp.Tests;

/// <summary>What the sidecars' profile lets through: an allowlist, <c>userfaultfd</c> only for user-mode faults.</summary>
public sealed class SidecarsProfileTests
{
    private const ulong UserModeOnly = 1;

    // CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET.
    private const ulong NamespaceFlags = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

    private static readonly JsonElement Profile = JsonDocument.Parse(SidecarsSeccompProfile.Content).RootElement;

    private static IEnumerable<JsonElement> Rules => Profile.GetProperty("syscalls").EnumerateArray();

    private static IEnumerable<JsonElement> RulesFor(string name) =>
        Rules.Where(r => r.GetProperty("names").EnumerateArray().Any(n => n.GetString() == name));

    [Fact]
    public void Anything_not_listed_is_refused()
    {
        Assert.Equal("SCMP_ACT_ERRNO", Profile.GetProperty("defaultAction").GetString());
        Assert.All(Rules, r => Assert.True(r.GetProperty("names").GetArrayLength() > 0));
    }

    /// <summary>What a container escape or a kernel attack starts with stays refused, as in the runtime's default profile.</summary>
    [Theory]
    [InlineData("mount")]
    [InlineData("umount2")]
    [InlineData("pivot_root")]
    [InlineData("chroot")]
    [InlineData("unshare")]
    [InlineData("setns")]
    [InlineData("ptrace")]
    [InlineData("process_vm_readv")]
    [InlineData("process_vm_writev")]
    [InlineData("bpf")]
    [InlineData("perf_event_open")]
    [InlineData("keyctl")]
    [InlineData("add_key")]
    [InlineData("request_key")]
    [InlineData("init_module")]
    [InlineData("finit_module")]
    [InlineData("delete_module")]
    [InlineData("kexec_load")]
    [InlineData("kexec_file_load")]
    [InlineData("open_by_handle_at")]
    [InlineData("name_to_handle_at")]
    [InlineData("io_uring_setup")]
    [InlineData("clock_settime")]
    [InlineData("settimeofday")]
    [InlineData("adjtimex")]
    [InlineData("reboot")]
    [InlineData("swapon")]
    [InlineData("sethostname")]
    [InlineData("setuid")]
    [InlineData("setgid")]
    [InlineData("personality")]
    [InlineData("mknod")]
    [InlineData("fanotify_init")]
    [InlineData("move_pages")]
    [InlineData("syslog")]
    public void Escapes_and_kernel_surface_are_refused(string name) => Assert.Empty(RulesFor(name));

    [Fact]
    public void Userfaultfd_is_allowed_only_for_faults_of_the_process_s_own_pages()
    {
        var rule = Assert.Single(RulesFor("userfaultfd"));
        Assert.Equal("SCMP_ACT_ALLOW", rule.GetProperty("action").GetString());
        var condition = Assert.Single(rule.GetProperty("args").EnumerateArray());
        Assert.Equal(0, condition.GetProperty("index").GetInt32());
        Assert.Equal("SCMP_CMP_MASKED_EQ", condition.GetProperty("op").GetString());
        Assert.Equal(UserModeOnly, condition.GetProperty("value").GetUInt64());
        Assert.Equal(UserModeOnly, condition.GetProperty("valueTwo").GetUInt64());
    }

    [Fact]
    public void Clone_may_start_threads_and_processes_but_not_namespaces()
    {
        var rule = Assert.Single(RulesFor("clone"));
        var condition = Assert.Single(rule.GetProperty("args").EnumerateArray());
        Assert.Equal("SCMP_CMP_MASKED_EQ", condition.GetProperty("op").GetString());
        Assert.Equal(NamespaceFlags, condition.GetProperty("value").GetUInt64());
        Assert.Equal(0UL, condition.GetProperty("valueTwo").GetUInt64());

        // clone3 passes its flags in memory a filter cannot read: ENOSYS, so that the C library falls back to clone.
        var clone3 = Assert.Single(RulesFor("clone3"));
        Assert.Equal("SCMP_ACT_ERRNO", clone3.GetProperty("action").GetString());
        Assert.Equal(38, clone3.GetProperty("errnoRet").GetInt32());
    }

    /// <summary>What the agent calls in both roles (traced serving, signing and scraped), and what its hooks start with.</summary>
    [Theory]
    [InlineData("futex")]
    [InlineData("epoll_wait")]
    [InlineData("membarrier")]
    [InlineData("madvise")]
    [InlineData("fadvise64")]
    [InlineData("memfd_create")]
    [InlineData("rseq")]
    [InlineData("sched_getaffinity")]
    [InlineData("accept4")]
    [InlineData("recvmsg")]
    [InlineData("flock")]
    [InlineData("chmod")]
    [InlineData("ioctl")]
    [InlineData("execve")]
    [InlineData("vfork")]
    [InlineData("wait4")]
    [InlineData("tgkill")]
    [InlineData("getrandom")]
    public void What_the_agent_calls_is_allowed(string name)
    {
        var rule = Assert.Single(RulesFor(name));
        Assert.Equal("SCMP_ACT_ALLOW", rule.GetProperty("action").GetString());
        Assert.False(rule.TryGetProperty("args", out _));
    }
}
