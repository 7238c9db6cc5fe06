using Grpc.Core;
using Sidecars.PodAgent;
using Xunit;

namespace Sidecars.PodAgent.Tests;

/// <summary>How the shared sign stream reports its failures to callers, who retry on Unavailable.</summary>
public sealed class PodAgentSignerErrorTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(PodAgentSigner.MaxBatchPayloads + 1)]
    public void A_batch_bound_outside_what_the_agent_takes_is_refused(int maxBatch)
    {
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress("http://127.0.0.1:1");

        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => new PodAgentSigner(new Contracts.V1.PodAgent.PodAgentClient(channel), maxBatch));

        Assert.Equal("maxBatch", refused.ParamName);
    }

    [Fact]
    public void A_read_cut_by_the_transport_is_reported_as_Unavailable_with_its_cause()
    {
        var cause = new IOException("The request was aborted.");
        var cut = new RpcException(new Status(StatusCode.Internal, "Error reading next message. IOException: The request was aborted.", cause));

        var reported = Assert.IsType<RpcException>(PodAgentSigner.AsTransportLoss(cut));

        Assert.Equal(StatusCode.Unavailable, reported.StatusCode);
        Assert.Same(cause, reported.Status.DebugException);
        Assert.Contains("Error reading next message", reported.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bare_transport_exception_is_reported_as_Unavailable()
    {
        var reported = Assert.IsType<RpcException>(PodAgentSigner.AsTransportLoss(new IOException("broken pipe")));

        Assert.Equal(StatusCode.Unavailable, reported.StatusCode);
        Assert.Contains("broken pipe", reported.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_that_are_not_the_transport_pass_through_unchanged()
    {
        var outOfTurn = new RpcException(new Status(StatusCode.Internal, "the pod-agent answered request 7 out of turn"));
        var refused = new RpcException(new Status(StatusCode.FailedPrecondition, "no valid blessing yet", new IOException("unrelated")));
        var misuse = new InvalidOperationException("stream completed");

        Assert.Same(outOfTurn, PodAgentSigner.AsTransportLoss(outOfTurn));
        Assert.Same(refused, PodAgentSigner.AsTransportLoss(refused));
        Assert.Same(misuse, PodAgentSigner.AsTransportLoss(misuse));
    }
}
