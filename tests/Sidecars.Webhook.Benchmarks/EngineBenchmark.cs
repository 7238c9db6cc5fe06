using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Sidecars.Mutation;

namespace Sidecars.Webhook.Benchmarks;

/// <summary>
/// The admission engine alone, on one thread, without a server: time and bytes allocated per review in each step the
/// handler takes (parse, decide, write the response), so the share of a request that is the webhook's own work shows.
/// </summary>
internal static class EngineBenchmark
{
    public static void Run(string body, InjectionOptions options, int iterations)
    {
        var json = Encoding.UTF8.GetBytes(body);
        var engine = new MutationEngine(options);
        var output = new ArrayBufferWriter<byte>(16 * 1024);
        var steps = new (long Ticks, long Bytes)[3];
        for (var round = 0; round < 2; round++)
        {
            // The first round warms up (JIT tiering); only the second is reported.
            Array.Clear(steps);
            for (var i = 0; i < iterations; i++)
            {
                var (ticks0, bytes0) = (Stopwatch.GetTimestamp(), GC.GetAllocatedBytesForCurrentThread());
                if (!AdmissionReviewCodec.TryRead(json, out var input, out var error, out var document))
                {
                    throw new InvalidOperationException(error);
                }

                using (document)
                {
                    var (ticks1, bytes1) = (Stopwatch.GetTimestamp(), GC.GetAllocatedBytesForCurrentThread());
                    var decision = engine.Decide(input);
                    var (ticks2, bytes2) = (Stopwatch.GetTimestamp(), GC.GetAllocatedBytesForCurrentThread());
                    output.ResetWrittenCount();
                    AdmissionReviewCodec.WriteResponse(output, input.Uid, decision);
                    var (ticks3, bytes3) = (Stopwatch.GetTimestamp(), GC.GetAllocatedBytesForCurrentThread());
                    Add(ref steps[0], ticks1 - ticks0, bytes1 - bytes0);
                    Add(ref steps[1], ticks2 - ticks1, bytes2 - bytes1);
                    Add(ref steps[2], ticks3 - ticks2, bytes3 - bytes2);
                }
            }
        }

        Console.WriteLine($"engine alone, {iterations} reviews of {json.Length} bytes on one thread (after as many to warm up); response {output.WrittenCount} bytes");
        Console.WriteLine($"{"step",-10} {"us/review",10} {"KB/review",10}");
        string[] names = ["parse", "decide", "respond"];
        for (var i = 0; i < steps.Length; i++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{names[i],-10} {Stopwatch.GetElapsedTime(0, steps[i].Ticks).TotalMicroseconds / iterations,10:F1} {steps[i].Bytes / 1024.0 / iterations,10:F1}"));
        }

        static void Add(ref (long Ticks, long Bytes) step, long ticks, long bytes) => step = (step.Ticks + ticks, step.Bytes + bytes);
    }
}
