using System.Text.Json.Serialization;

namespace Sidecars.AgentLifecycle;

/// <summary>The few fields of a Pod the watcher reads; everything else in the object is ignored.</summary>
internal sealed class PodModel
{
    public PodMetadata? Metadata { get; set; }

    public PodSpecModel? Spec { get; set; }

    public PodStatusModel? Status { get; set; }
}

internal sealed class PodMetadata
{
    public string? Name { get; set; }

    public string? ResourceVersion { get; set; }
}

internal sealed class PodSpecModel
{
    public string? RestartPolicy { get; set; }

    public List<NamedModel>? Containers { get; set; }
}

internal sealed class NamedModel
{
    public string? Name { get; set; }
}

internal sealed class PodStatusModel
{
    public string? Phase { get; set; }

    public List<ContainerStatusModel>? ContainerStatuses { get; set; }
}

internal sealed class ContainerStatusModel
{
    public string? Name { get; set; }

    public ContainerStateModel? State { get; set; }
}

internal sealed class ContainerStateModel
{
    public TerminatedModel? Terminated { get; set; }
}

internal sealed class TerminatedModel
{
    public int ExitCode { get; set; }
}

/// <summary>One line of a watch stream: <c>{"type": ..., "object": ...}</c>.</summary>
internal sealed class WatchEventModel
{
    public string? Type { get; set; }

    public PodModel? Object { get; set; }
}

/// <summary>A Status object, as sent in ERROR watch events and error responses.</summary>
internal sealed class StatusModel
{
    public int Code { get; set; }

    public string? Message { get; set; }
}

/// <summary>An ERROR watch event carries a Status instead of a Pod.</summary>
internal sealed class ErrorEventModel
{
    public string? Type { get; set; }

    public StatusModel? Object { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(PodModel))]
[JsonSerializable(typeof(WatchEventModel))]
[JsonSerializable(typeof(ErrorEventModel))]
[JsonSerializable(typeof(StatusModel))]
internal sealed partial class LifecycleJsonContext : JsonSerializerContext;
