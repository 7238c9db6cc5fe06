using Sidecars.Conventions;

namespace Sidecars.RealNode.Tests;

/// <summary>The test pods, as users write them: the app image from <c>LOCALREGISTRY</c>, the opt-ins as labels and annotations.</summary>
internal static class Manifests
{
    public const string AppImage = "LOCALREGISTRY/" + Lane.AppImage;

    /// <summary>The <c>sidecars.io/settings</c> annotation of <see cref="FeaturesPod"/>: env for its container <c>app</c>.</summary>
    private const string Settings = """{"app": {"GREETING": "hello from settings"}}""";

    /// <summary>A pod with every injection that needs no cluster agent except the network (copy-token, settings, data volume).</summary>
    public static string FeaturesPod(string name, string token) => $$"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{name}}
          labels:
            app: {{name}}
          annotations:
            sciencedata.dk/copy-token: "token"
            sidecars.io/settings: '{{Settings}}'
        spec:
          terminationGracePeriodSeconds: 2
          containers:
            - name: app
              image: {{AppImage}}
              command: ["sh", "-c", "echo \"greeting: $GREETING\"; echo -n \"$TOKEN_VALUE\" > \"$SIDECARS_TOKEN_DIR/token\"; echo -n written > /sciencedata/from-pod; exec sleep 3600"]
              env:
                - { name: GREETING, value: "from the manifest" }
                - { name: TOKEN_VALUE, value: "{{token}}" }
              readinessProbe:
                exec: { command: ["cat", "/sciencedata/from-pod"] }
                periodSeconds: 1
              volumeMounts:
                - { name: sciencedata, mountPath: /sciencedata }
          volumes:
            - name: sciencedata
              emptyDir: {}
        """;

    /// <summary>The owner's data claim the webhook points the <c>sciencedata</c> volume at, on a host directory.</summary>
    public static string DataClaim(string ns, string owner, string hostPath) => $$"""
        apiVersion: v1
        kind: PersistentVolume
        metadata:
          name: {{ns}}-data
        spec:
          capacity: { storage: 1Mi }
          accessModes: [ReadWriteOnce]
          persistentVolumeReclaimPolicy: Delete
          storageClassName: ""
          claimRef: { namespace: {{ns}}, name: sciencedata-{{owner}} }
          hostPath: { path: {{hostPath}}, type: DirectoryOrCreate }
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: sciencedata-{{owner}}
        spec:
          accessModes: [ReadWriteOnce]
          storageClassName: ""
          volumeName: {{ns}}-data
          resources: { requests: { storage: 1Mi } }
        """;

    /// <summary>
    /// A pod in peer network <paramref name="network"/>: the webhook adds its lightpeer (and, with
    /// <paramref name="copyToken"/>, a tokens-only pod-agent).
    /// </summary>
    public static string PeerPod(string name, string network, bool copyToken = false) => $$"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{name}}
          labels:
            klight.networkId: {{network}}
          annotations: {{(copyToken ? "{sciencedata.dk/copy-token: token}" : "{}")}}
        spec:
          terminationGracePeriodSeconds: 2
          containers:
            - name: app
              image: {{AppImage}}
              command: ["sleep", "3600"]
        """;

    /// <summary>
    /// A pod asking for a blessing: the webhook adds the pod-agent with its postStart hook (and the lightpeer when
    /// <paramref name="network"/> is given).
    /// </summary>
    public static string BlessedPod(string name, string blessing, string? network = null) => $$"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: sidecars-{{blessing}}
        stringData:
          secret: "{{Guid.NewGuid():N}}"
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{name}}
          labels: {{NetworkLabel(network)}}
          annotations:
            sidecars.io/blessing: {{blessing}}
        spec:
          terminationGracePeriodSeconds: 2
          containers:
            - name: app
              image: {{AppImage}}
              command: ["sleep", "3600"]
        """;

    /// <summary>
    /// A pod with both sidecars: the lightpeer for peer network <paramref name="network"/>, and the pod-agent with an
    /// identity for <paramref name="blessing"/> (needs the cluster agent to bless it) or, when that is null, in its
    /// tokens-only mode (needs nothing else).
    /// </summary>
    public static string BothSidecarsPod(string name, string network, string? blessing) =>
        blessing is null ? PeerPod(name, network, copyToken: true) : BlessedPod(name, blessing, network);

    /// <summary>A pod that names an image directly, with no opt-in.</summary>
    public static string PlainPod(string name, string image) => $$"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{name}}
          annotations:
            sidecars.io/inject: "false"
        spec:
          terminationGracePeriodSeconds: 0
          containers:
            - name: app
              image: {{image}}
        """;

    /// <summary>The pod's labels as a YAML flow map: the peer network, if any.</summary>
    private static string NetworkLabel(string? network) => network is null ? "{}" : "{" + SidecarsLabels.NetworkId + ": " + network + "}";

    /// <summary>The application's secret for blessing <paramref name="blessing"/>, where the pod-agent reads it.</summary>
    public static string ApplicationSecret(string blessing, string secret) => $$"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{SidecarsNames.DefaultSecretName(blessing)}}
        stringData:
          {{SidecarsNames.SecretKey}}: "{{secret}}"
        """;

    /// <summary>
    /// A Deployment as a user writes it: blessed replicas in a peer network, the app image from <c>LOCALREGISTRY</c>,
    /// the data volume and per-container settings.
    /// </summary>
    public static string BlessedNetworkDeployment(string name, string blessing, string network, int replicas) => $$"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{name}}
        spec:
          replicas: {{replicas}}
          selector:
            matchLabels: { app: {{name}} }
          template:
            metadata:
              labels:
                app: {{name}}
                {{SidecarsLabels.NetworkId}}: {{network}}
              annotations:
                {{SidecarsAnnotations.Blessing}}: {{blessing}}
                {{SidecarsAnnotations.Settings}}: '{{Settings}}'
            spec:
              terminationGracePeriodSeconds: 2
              containers:
                - name: app
                  image: {{AppImage}}
                  command: ["sh", "-c", "echo \"greeting: $GREETING\"; echo -n written > /sciencedata/from-pod; exec sleep 3600"]
                  env:
                    - { name: GREETING, value: "from the manifest" }
                  readinessProbe:
                    exec: { command: ["cat", "/sciencedata/from-pod"] }
                    periodSeconds: 1
                  volumeMounts:
                    - { name: sciencedata, mountPath: /sciencedata }
              volumes:
                - name: sciencedata
                  emptyDir: {}
        """;

    /// <summary>A pod for the user-pods API: its app writes <paramref name="token"/> for the pod-agent to serve.</summary>
    public static string UserPod(string token) => $$"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: scenario
          annotations:
            {{SidecarsAnnotations.CopyToken}}: "token"
        spec:
          terminationGracePeriodSeconds: 2
          containers:
            - name: app
              image: {{AppImage}}
              command: ["sh", "-c", "echo -n {{token}} > \"$SIDECARS_TOKEN_DIR/token\"; touch /tmp/ready; exec sleep 3600"]
              readinessProbe:
                exec: { command: ["cat", "/tmp/ready"] }
                periodSeconds: 1
        """;

    /// <summary>A pod no node runs (it stays Pending): what admission does with it is all that matters.</summary>
    public static k8s.Models.V1Pod PendingPod(string name) => new()
    {
        Metadata = new k8s.Models.V1ObjectMeta { Name = name },
        Spec = new k8s.Models.V1PodSpec
        {
            NodeSelector = new Dictionary<string, string> { ["sidecars.io/no-such-node"] = "true" },
            TerminationGracePeriodSeconds = 0,
            Containers = [new k8s.Models.V1Container { Name = "app", Image = AppImage, Command = ["sleep", "3600"] }],
        },
    };
}
