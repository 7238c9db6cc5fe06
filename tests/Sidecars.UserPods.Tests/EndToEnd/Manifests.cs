namespace Sidecars.UserPods.Tests.EndToEnd;

/// <summary>User-pod manifests as a portal would publish them.</summary>
internal static class Manifests
{
    /// <summary>A pod whose container writes a token and serves it; with a Service and an Ingress.</summary>
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
              image: {{TokenServerRunner.Image}}
              env:
                - name: TOKEN_KEY
                  value: token
                - name: TOKEN_VALUE
                  value: "{{tokenValue}}"
              ports:
                - containerPort: 9090
              readinessProbe:
                httpGet:
                  path: /token/token
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
              image: {{TokenServerRunner.Image}}
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
}
