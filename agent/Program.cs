using Sidecars.Lightpeer;
using Sidecars.PodAgent;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };

return args.FirstOrDefault() switch
{
    "pod-agent" => await PodAgentCommand.RunAsync(args[1..], stop.Token),
    "lightpeer" => await LightpeerCommand.RunAsync(args[1..], stop.Token),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine($"usage: sidecars-agent <pod-agent|lightpeer> [options]\n\n{PodAgentOptionsParser.Usage}\n{LightpeerOptions.Usage}");
    return 2;
}
