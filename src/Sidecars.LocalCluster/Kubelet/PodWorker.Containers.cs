using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sidecars.LocalCluster;

/// <summary>Starting, probing, and restarting the pod's containers.</summary>
internal sealed partial class PodWorker
{
    /// <summary>Runs init containers one at a time, then every app container.</summary>
    private Task StartNextAsync()
    {
        while (_nextInit < _initContainers.Count)
        {
            var init = _initContainers[_nextInit];
            if (init.IsTerminated && init.State.Terminated.ExitCode == 0)
            {
                _nextInit++;
                continue;
            }

            if (init.Runner is null)
            {
                var now = DateTime.UtcNow;
                init.Generation++;
                init.State = new V1ContainerState
                {
                    Terminated = new V1ContainerStateTerminated { ExitCode = 0, Reason = "Completed", StartedAt = now, FinishedAt = now },
                };
                _nextInit++;
                continue;
            }

            StartContainer(init);
            return Task.CompletedTask;
        }

        if (!_appsStarted)
        {
            _appsStarted = true;
            foreach (var container in _containers)
            {
                StartContainer(container);
            }
        }

        return Task.CompletedTask;
    }

    private void StartContainer(ContainerRuntime container)
    {
        var generation = ++container.Generation;
        if (container.Runner is null)
        {
            container.State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = DateTime.UtcNow } };
            if (_pod.Spec.RestartPolicy is "Never" or "OnFailure")
            {
                PostAfter(VirtualRunTime, () => OnExitedAsync(container, generation, 0));
            }

            return;
        }

        try
        {
            var startInfo = container.Runner.CreateStartInfo(container.Launch!);
            foreach (var (name, value) in container.Launch!.Environment)
            {
                startInfo.Environment[name] = value;
            }

            if (string.IsNullOrEmpty(startInfo.WorkingDirectory))
            {
                startInfo.WorkingDirectory = PodDirectory;
            }

            var process = LoggedProcess.Start(startInfo, Path.Combine(PodDirectory, container.Name + ".log"));
            container.Process = process;
            container.State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = DateTime.UtcNow } };
            _ = process.Exited.ContinueWith(
                t => Post(() => OnExitedAsync(container, generation, t.Result)),
                CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            StartProbes(container, generation);
            Log.ContainerStarted(_context.Logger, Namespace, Name, container.Name, process.Id);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException or ArgumentException)
        {
            container.State = ContainerRuntime.Waiting("RunContainerError", e.Message);
            Log.ContainerStartFailed(_context.Logger, Namespace, Name, container.Name, e.Message);
            ScheduleRestart(container, generation);
        }
    }

    private void StartProbes(ContainerRuntime container, int generation)
    {
        var ip = _ip!.ToString();
        var maxPeriod = _context.Options.MaxProbePeriod;
        if (!container.IsInit && container.Spec.ReadinessProbe is { } readiness)
        {
            container.Readiness = new ContainerProber(readiness, container.Spec, ip, maxPeriod, initialVerdict: false,
                _ => Post(() => Task.CompletedTask));
        }

        if (!container.IsInit && container.Spec.LivenessProbe is { } liveness)
        {
            container.Liveness = new ContainerProber(liveness, container.Spec, ip, maxPeriod, initialVerdict: true, alive =>
            {
                if (!alive)
                {
                    Post(() =>
                    {
                        if (container.Generation == generation && container.Process is { } process)
                        {
                            Log.LivenessFailed(_context.Logger, Namespace, Name, container.Name);
                            process.Kill();
                        }

                        return Task.CompletedTask;
                    });
                }
            });
        }
    }

    private async Task OnExitedAsync(ContainerRuntime container, int generation, int exitCode)
    {
        if (container.Generation != generation || !container.IsRunning)
        {
            return;
        }

        container.StopProbes();
        if (container.Process is { } process)
        {
            container.Process = null;
            await process.DisposeAsync();
        }

        container.State = new V1ContainerState
        {
            Terminated = new V1ContainerStateTerminated
            {
                ExitCode = exitCode,
                Reason = exitCode == 0 ? "Completed" : "Error",
                StartedAt = container.State.Running.StartedAt,
                FinishedAt = DateTime.UtcNow,
                ContainerID = $"sim://{_pod.Metadata.Uid}/{container.Name}/{generation}",
            },
        };
        if (_terminating)
        {
            return;
        }

        Log.ContainerExited(_context.Logger, Namespace, Name, container.Name, exitCode);
        var policy = _pod.Spec.RestartPolicy ?? "Always";
        if (container.IsInit)
        {
            if (exitCode == 0)
            {
                await StartNextAsync();
            }
            else if (policy == "Never")
            {
                _initFailed = true;
            }
            else
            {
                ScheduleRestart(container, generation);
            }

            return;
        }

        if (policy == "Always" || (policy == "OnFailure" && exitCode != 0))
        {
            ScheduleRestart(container, generation);
        }
    }

    private void ScheduleRestart(ContainerRuntime container, int generation)
    {
        if (container.IsTerminated)
        {
            container.LastState = container.State;
        }

        container.State = ContainerRuntime.Waiting("CrashLoopBackOff", $"back-off restarting container {container.Name}");
        PostAfter(Backoff(container.RestartCount + 1), () =>
        {
            if (!_terminating && container.Generation == generation)
            {
                container.RestartCount++;
                StartContainer(container);
            }

            return Task.CompletedTask;
        });
    }
}
