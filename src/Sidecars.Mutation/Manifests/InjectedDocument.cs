using System.Text.Json.Nodes;

namespace Sidecars.Mutation;

/// <summary>One manifest document before and after the engine, with the decisions that changed it.</summary>
/// <param name="Decision">The decision on the document itself (a pod, or a workload's stamp).</param>
/// <param name="PodDecision">For workloads: the decision on a pod created from the template by its controller.</param>
/// <param name="PodUser">For workloads: the controller the pod decision assumed.</param>
public sealed record InjectedDocument(
    int Index,
    string Kind,
    string Namespace,
    string Name,
    JsonNode Original,
    JsonNode Mutated,
    AdmissionDecision Decision,
    AdmissionDecision? PodDecision,
    string? PodUser,
    string UserName);
