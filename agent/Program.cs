using System.Runtime.InteropServices;
using Sidecars.Lightpeer;
using Sidecars.PodAgent;
using Sidecars.Seccomp;

// SIGTERM (the kubelet stopping the container) and SIGINT stop either role gracefully.
using var stop = new CancellationTokenSource();
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

return args.FirstOrDefault() switch
{
    "pod-agent" => await PodAgentCommand.RunAsync(args[1..], stop.Token),
    "lightpeer" => await LightpeerCommand.RunAsync(args[1..], stop.Token),
    "seccomp-profile" => await SeccompProfileCommand.RunAsync(args[1..], stop.Token),
    _ => Usage(),
};

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

static int Usage()
{
    Console.Error.WriteLine($"usage: sidecars-agent <pod-agent|lightpeer|seccomp-profile> [options]\n\n{PodAgentOptionsParser.Usage}\n{LightpeerOptions.Usage}\n{SeccompProfileCommand.Usage}");
    return 2;
}
