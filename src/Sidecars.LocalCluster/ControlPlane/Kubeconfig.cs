using System.Globalization;
using System.Text;

namespace Sidecars.LocalCluster;

/// <summary>Writes a kubeconfig that authenticates one user by bearer token against the local apiserver.</summary>
internal static class Kubeconfig
{
    public static string Render(string server, string caCertificatePem, string user, string token)
    {
        var caData = Convert.ToBase64String(Encoding.ASCII.GetBytes(caCertificatePem));
        return string.Create(CultureInfo.InvariantCulture, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: sidecars-local
              cluster:
                server: {server}
                certificate-authority-data: {caData}
            users:
            - name: {user}
              user:
                token: {token}
            contexts:
            - name: {user}@sidecars-local
              context:
                cluster: sidecars-local
                user: {user}
                namespace: default
            current-context: {user}@sidecars-local

            """);
    }
}
