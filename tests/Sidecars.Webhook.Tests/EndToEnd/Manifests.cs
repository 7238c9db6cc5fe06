namespace Sidecars.Webhook.Tests.EndToEnd;

internal static class Manifests
{
    public const string DeploymentAndPod = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: fortuned
        spec:
          replicas: 2
          selector:
            matchLabels: {app: fortuned}
          template:
            metadata:
              labels:
                app: fortuned
                klight.networkId: net-1
              annotations:
                sidecars.io/blessing: fortuned
                sidecars.io/settings: '{"app": {"MODE": "prod"}}'
            spec:
              containers:
                - name: app
                  image: LOCALREGISTRY/fortune/server:1.2
                  env:
                    - {name: MODE, value: dev}
                  volumeMounts:
                    - {name: sciencedata, mountPath: /data}
              volumes:
                - name: sciencedata
                  emptyDir: {}
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: jupyter
          annotations:
            sidecars.io/blessing: jupyter
        spec:
          containers:
            - name: jupyter
              image: LOCALREGISTRY/jupyter/minimal@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        """;

    public const string ForgedOwnerPod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: forged
          labels:
            sidecars.io/owner: alice
          annotations:
            sidecars.io/owner: alice
        spec:
          containers:
            - {name: c, image: busybox:1.36}
        """;

    public const string OptedOutPod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: opted-out
          annotations:
            sidecars.io/inject: "false"
            sidecars.io/blessing: fortuned
        spec:
          containers:
            - {name: c, image: LOCALREGISTRY/app:1}
        """;

    public const string DryRunPod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: dry
          annotations:
            sidecars.io/blessing: jupyter
        spec:
          containers:
            - {name: c, image: LOCALREGISTRY/app:1}
        """;

    public const string BadSettingsPod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: bad-settings
          annotations:
            sidecars.io/blessing: jupyter
            sidecars.io/settings: '{not json'
        spec:
          containers:
            - {name: c, image: LOCALREGISTRY/app:1}
        """;

    public static string SystemPod(string name) => $$"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{name}}
          annotations:
            sidecars.io/inject: "true"
            sidecars.io/blessing: fortuned
        spec:
          containers:
            - {name: c, image: LOCALREGISTRY/app:1}
        """;
}
