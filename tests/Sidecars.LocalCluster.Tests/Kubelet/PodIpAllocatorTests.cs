using System.Net;
using Xunit;

namespace Sidecars.LocalCluster.Tests;

public sealed class PodIpAllocatorTests
{
    [Fact]
    public void Allocates_distinct_loopback_addresses_outside_127_0()
    {
        var allocator = new PodIpAllocator(startBlock: 1);

        var addresses = Enumerable.Range(0, 600).Select(_ => allocator.Allocate()).ToList();

        Assert.Equal(600, addresses.Distinct().Count());
        Assert.All(addresses, a =>
        {
            var bytes = a.GetAddressBytes();
            Assert.Equal(127, bytes[0]);
            Assert.NotEqual(0, bytes[1]);
            Assert.NotEqual(0, bytes[3]);
            Assert.NotEqual(255, bytes[3]);
        });
        Assert.DoesNotContain(IPAddress.Parse("127.0.0.1"), addresses);
        Assert.Equal(600, allocator.Count);
    }

    [Fact]
    public void Released_address_is_free_and_not_handed_out_again_at_once()
    {
        var allocator = new PodIpAllocator(startBlock: 7);
        var first = allocator.Allocate();
        Assert.Equal(IPAddress.Parse("127.7.0.1"), first);

        Assert.True(allocator.Release(first));

        Assert.False(allocator.IsAllocated(first));
        Assert.False(allocator.Release(first));
        Assert.NotEqual(first, allocator.Allocate());
    }

    [Fact]
    public void Wraps_from_the_top_of_the_range_to_the_bottom()
    {
        var allocator = new PodIpAllocator(startBlock: 254);
        var seen = new HashSet<IPAddress>();
        for (var i = 0; i < 256 * 254; i++)
        {
            Assert.True(seen.Add(allocator.Allocate()));
        }

        Assert.Equal(IPAddress.Parse("127.1.0.1"), allocator.Allocate());
    }

    [Fact]
    public void Rejects_the_127_0_block()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PodIpAllocator(startBlock: 0));
    }
}
