namespace Sidecars.Testing.UserPods;

/// <summary>User-pod manifests as a portal would publish them.</summary>
public static class UserPodManifests
{
    /// <summary>
    /// A pod whose container writes a token for its pod-agent to serve; with a Service and an Ingress, and with
    /// <paramref name="storage"/> the user's storage volume (<c>sciencedata</c>) mounted.
    /// </summary>
    public static string TokenPod(string tokenValue, bool storage = false) => $$"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: notebook
          annotations:
            sciencedata.dk/copy-token: token
        spec:
          containers:
            - name: notebook
              image: {{TokenAppRunner.Image}}
              env:
                - name: TOKEN_KEY
                  value: token
                - name: TOKEN_VALUE
                  value: "{{tokenValue}}"
              ports:
                - containerPort: 9090
              readinessProbe:
                httpGet:
                  path: /readyz
                  port: 9090
                periodSeconds: 1{{(storage ? StorageVolume : string.Empty)}}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: notebook
        spec:
          ports:
            - name: http
              port: 80
              targetPort: 9090
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: notebook
        spec:
          rules:
            - http:
                paths:
                  - path: /
                    pathType: Prefix
                    backend:
                      service:
                        name: notebook
                        port:
                          name: http
        """;

    /// <summary>A pod whose readiness probe never passes.</summary>
    public const string NeverReady = $$"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: stuck
        spec:
          containers:
            - name: stuck
              image: {{TokenAppRunner.Image}}
              readinessProbe:
                httpGet:
                  path: /never-written
                  port: 9090
                periodSeconds: 1
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: stuck
        spec:
          ports:
            - port: 80
        """;

    public const string Malformed = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: broken
          labels: [not, a, map
        """;

    /// <summary>A pod with the user's storage volume and an ssh NodePort Service, and no restartPolicy of its own.</summary>
    public const string SshPod = $$"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: ubuntu
          annotations:
            sciencedata.dk/copy-token: token
        spec:
          containers:
            - name: ubuntu
              image: {{TokenAppRunner.Image}}
              env:
                - name: TOKEN_KEY
                  value: token
                - name: TOKEN_VALUE
                  value: ssh-ready
              ports:
                - containerPort: 9090
              readinessProbe:
                httpGet:
                  path: /readyz
                  port: 9090
                periodSeconds: 1
              volumeMounts:
                - name: sciencedata
                  mountPath: /root/data
          volumes:
            - name: sciencedata
              emptyDir: {}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: ubuntu
          annotations:
            sciencedata.dk/copy-token: token
        spec:
          type: NodePort
          ports:
            - name: ssh
              port: 22
              targetPort: 9090
        """;

    /// <summary>Appended to a pod's only container: mounts the user's storage volume, declared after it.</summary>
    private const string StorageVolume = "\n      volumeMounts:\n        - name: sciencedata\n          mountPath: /data\n  volumes:\n    - name: sciencedata\n      emptyDir: {}";
}
