namespace Sidecars.UserPods.Tests.EndToEnd;

/// <summary>User-pod manifests as a portal would publish them.</summary>
internal static class Manifests
{
    /// <summary>A pod whose container writes a token for its pod-agent to serve; with a Service and an Ingress.</summary>
    public static string TokenPod(string tokenValue) => $$"""
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
                periodSeconds: 1
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
}
