using k8s.Models;

namespace Sidecars.UserPods.Manifests;

/// <summary>What a user-pod manifest holds: one Pod, and optionally a Service and an Ingress for it.</summary>
public sealed record UserPodManifest(V1Pod Pod, V1Service? Service, V1Ingress? Ingress);
