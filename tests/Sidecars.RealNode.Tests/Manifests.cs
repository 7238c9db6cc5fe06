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

    /// <summary>A pod in peer network <paramref name="network"/>: the webhook adds its lightpeer.</summary>
    public static string PeerPod(string name, string network) => $$"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{name}}
          labels:
            klight.networkId: {{network}}
        spec:
          terminationGracePeriodSeconds: 2
          containers:
            - name: app
              image: {{AppImage}}
              command: ["sleep", "3600"]
        """;

    /// <summary>A pod asking for a blessing: the webhook adds the pod-agent with its postStart hook.</summary>
    public static string BlessedPod(string name, string blessing) => $$"""
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
          annotations:
            sidecars.io/blessing: {{blessing}}
        spec:
          terminationGracePeriodSeconds: 2
          containers:
            - name: app
              image: {{AppImage}}
              command: ["sleep", "3600"]
        """;

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
}
