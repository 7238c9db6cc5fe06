#!/usr/bin/env bash
# Starts the real-node lane: the local registry, etcd and the v1.20.2 control plane, containerd + runc with a CNI
# bridge, kubelet, kube-proxy (iptables), a cluster DNS and Prometheus, then builds and pushes the project's images.
# Idempotent: what already runs is kept. The last line printed is `export KUBECONFIG=<path>`.
#   bash tests/realnode/up.sh && bash tests/realnode/down.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lane.sh"
source "$here/pki.sh"
exec 3>&1 1>&2

[ "$(id -u)" = 0 ] || { log "the real node needs root (network namespaces, mounts, iptables)"; exit 1; }

bash "$here/install.sh"
bash "$here/registry.sh" start
mkdir -p "$LANE" "$RUN" "$LOGS"
chmod 0700 "$LANE"
make_pki

# Kernel settings kubelet and kube-proxy change on start, recorded once so that down.sh puts them back.
if [ ! -f "$LANE/sysctl.saved" ]; then
  for s in "${CHANGED_SYSCTLS[@]}"; do echo "$s=$(sysctl -n "$s")"; done > "$LANE/sysctl.saved"
fi
# Directories outside the lane that containerd's shims and kubelet create (kubelet 1.20 reads Localhost seccomp
# profiles from /var/lib/kubelet/seccomp whatever its --root-dir, where deploy/'s node-profiles DaemonSet writes the
# sidecars' profile, as on any node); down.sh removes them if the lane made them.
for dir in /run/containerd /var/log/pods /var/log/containers /var/lib/kubelet /var/lib/kubelet/seccomp /var/lib/kubelet/seccomp/sidecars; do
  [ -e "$dir" ] || [ -f "$LANE/made$(echo "$dir" | tr / -)" ] || touch "$LANE/made$(echo "$dir" | tr / -)"
done

setup_network() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip -4 addr show dev "$BRIDGE" | grep -q "inet $HOST_IP/" || ip addr add "$HOST_IP/${POD_SUBNET#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Forward only what arrives on the bridge (pod to Service to pod); the machine's other interfaces stay as they were.
  sysctl -qw "net.ipv4.conf.$BRIDGE.forwarding=1"
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
  # ClusterIPs are reached through the bridge, from pods (their route via the gateway) and from this host alike.
  ip route replace "$SERVICE_RANGE" dev "$BRIDGE" src "$HOST_IP"
  if iptables -N "$FORWARD_CHAIN" 2>/dev/null; then
    iptables -A "$FORWARD_CHAIN" -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
    iptables -A "$FORWARD_CHAIN" -i "$BRIDGE" -j DROP
    iptables -A "$FORWARD_CHAIN" -o "$BRIDGE" -j DROP
  fi
  iptables -C FORWARD -j "$FORWARD_CHAIN" 2>/dev/null || iptables -I FORWARD 1 -j "$FORWARD_CHAIN"
}

curl_api() { curl -fsS --max-time 3 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://$HOST_IP:$APISERVER_PORT$1"; }
kubectl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

start_control_plane() {
  start_daemon etcd etcd --name="$NODE_NAME" --data-dir="$LANE/etcd" \
    --listen-client-urls="http://$ETCD_CLIENT" --advertise-client-urls="http://$ETCD_CLIENT" \
    --listen-peer-urls="http://$ETCD_PEER" --initial-advertise-peer-urls="http://$ETCD_PEER" \
    --initial-cluster="$NODE_NAME=http://$ETCD_PEER" --initial-cluster-state=new --log-level=warn
  wait_for etcd 30 curl -fsS --max-time 2 "http://$ETCD_CLIENT/health"

  # What Sidecars' own ServiceAccounts ask and get (tests count their refusals, 403), nothing of anyone else.
  write_file "$LANE/audit-policy.yaml" <<YAML
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts:sidecars-system"]
  - level: None
YAML

  # Serves on the bridge's host-side address: this host and the pods (through the kubernetes Service) reach it there.
  # The kubelet is dialled at its InternalIP, the same address, never by host name.
  start_daemon kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers="http://$ETCD_CLIENT" --bind-address="$HOST_IP" --advertise-address="$HOST_IP" \
    --secure-port="$APISERVER_PORT" --insecure-port=0 --cert-dir="$LANE/apiserver" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-cluster-ip-range="$SERVICE_RANGE" --allow-privileged=true --profiling=false \
    --audit-policy-file="$LANE/audit-policy.yaml" --audit-log-path="$AUDIT_LOG" --audit-log-maxsize=100
  wait_for kube-apiserver 60 curl_api /readyz || { tail -20 "$LOGS/kube-apiserver.log"; exit 1; }

  local common=(--bind-address=127.0.0.1 --port=0 --leader-elect=false --profiling=false
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key")
  start_daemon kube-controller-manager "$BIN/kube-controller-manager" "${common[@]}" \
    --kubeconfig="$LANE/kubeconfig-controller-manager" --authentication-kubeconfig="$LANE/kubeconfig-controller-manager" \
    --authorization-kubeconfig="$LANE/kubeconfig-controller-manager" --secure-port="$CONTROLLER_MANAGER_PORT" \
    --controllers='*' --use-service-account-credentials=true --service-account-private-key-file="$PKI/sa.key" \
    --root-ca-file="$PKI/ca.crt" --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key"
  start_daemon kube-scheduler "$BIN/kube-scheduler" "${common[@]}" \
    --kubeconfig="$LANE/kubeconfig-scheduler" --authentication-kubeconfig="$LANE/kubeconfig-scheduler" \
    --authorization-kubeconfig="$LANE/kubeconfig-scheduler" --secure-port="$SCHEDULER_PORT"
  wait_for kube-controller-manager 60 curl -fsSk --max-time 2 "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz"
  wait_for kube-scheduler 60 curl -fsSk --max-time 2 "https://127.0.0.1:$SCHEDULER_PORT/healthz"

  # The DNS sync reads Services and nothing else.
  kubectl apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "$NODE_NAME:dns-sync"}
rules: [{apiGroups: [""], resources: [services], verbs: [list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "$NODE_NAME:dns-sync"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "$NODE_NAME:dns-sync"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:$NODE_NAME:dns-sync"}]
YAML
}

start_containerd() {
  local certs="$LANE/containerd-certs.d"
  mkdir -p "$LANE/cni/net.d" "$RUN/containerd" "$certs/_default"
  # Every registry name (the _default host entry) is served by the local registry over plain HTTP: no pull leaves
  # the machine, and an image the local registry lacks fails at once as not found.
  printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
    "$REGISTRY_ADDR" "$REGISTRY_ADDR" | write_file "$certs/_default/hosts.toml"
  write_file "$LANE/cni/net.d/10-$NODE_NAME.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "$NODE_NAME",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$LANE/cni/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$HOST_IP"}]],
        "routes": [{"dst": "$SERVICE_RANGE"}]
      }
    }
  ]
}
JSON
  write_file "$LANE/containerd.toml" <<TOML
version = 2
root = "$LANE/containerd"
state = "$RUN/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "$CONTAINERD_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$LANE/containerd-opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This machine refuses a negative oom_score_adj; kubelet asks for -998 for the sandbox.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$LANE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$certs"
TOML
  start_daemon containerd containerd --config "$LANE/containerd.toml"
  wait_for containerd 30 ctr --address "$CONTAINERD_SOCK" version

  # The lane's own images (sandbox and test app): into containerd, and into the registry where pods pull them.
  local image archive repo
  for image in "$PAUSE_IMAGE=$PAUSE_ARCHIVE" "$APP_IMAGE=$APP_IMAGE_ARCHIVE"; do
    archive="${image#*=}" image="${image%%=*}" repo="${image#*/}"
    if ! ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q | grep -qx "$image"; then
      ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$archive" >/dev/null
    fi
    curl -fsS -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://$REGISTRY_ADDR/v2/${repo%:*}/manifests/${repo##*:}" 2>/dev/null \
      || ctr --address "$CONTAINERD_SOCK" -n k8s.io images push --plain-http "$image" >/dev/null
  done
}

start_kubelet() {
  mkdir -p "$LANE/kubelet"
  printf '# Pods resolve only the cluster'"'"'s names: no upstream resolver.\n' | write_file "$LANE/resolv.conf"
  write_file "$LANE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $HOST_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
makeIPTablesUtilChains: true
clusterDomain: $CLUSTER_DOMAIN
clusterDNS: [$HOST_IP]
resolvConf: $LANE/resolv.conf
serializeImagePulls: false
volumePluginDir: $LANE/kubelet-plugins
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
YAML
  start_daemon kubelet "$BIN/kubelet" --config="$LANE/kubelet.yaml" --kubeconfig="$LANE/kubeconfig-kubelet" \
    --root-dir="$LANE/kubelet" --cert-dir="$LANE/kubelet/pki" --hostname-override="$NODE_NAME" --node-ip="$HOST_IP" \
    --container-runtime=remote --container-runtime-endpoint="unix://$CONTAINERD_SOCK" --v=1
  node_ready() { [ "$(kubectl get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
  wait_for "node $NODE_NAME Ready" 90 node_ready || { tail -30 "$LOGS/kubelet.log"; exit 1; }
}

start_kube_proxy() {
  write_file "$LANE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $LANE/kubeconfig-kube-proxy}
mode: iptables
clusterCIDR: $POD_SUBNET
hostnameOverride: $NODE_NAME
bindAddress: $HOST_IP
healthzBindAddress: $PROXY_HEALTHZ
metricsBindAddress: $PROXY_METRICS
nodePortAddresses: [$HOST_IP/32]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  start_daemon kube-proxy "$BIN/kube-proxy" --config="$LANE/kube-proxy.yaml" --v=1
  wait_for kube-proxy 60 curl -fsS --max-time 2 "http://$PROXY_HEALTHZ/healthz"
  # The kubernetes Service answers from the host through kube-proxy's rules once they are written.
  wait_for "the kubernetes Service" 60 curl -fsS --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" \
    --key "$PKI/admin.key" "https://$KUBERNETES_SERVICE_IP/readyz"
}

start_dns() {
  mkdir -p "$RUN/dns"
  chmod 0755 "$RUN" "$RUN/dns"
  # Answers only the cluster's names (the Services, written by dns-sync.sh); never forwards to an upstream resolver.
  start_daemon dnsmasq dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --bind-interfaces \
    --listen-address="$HOST_IP" --hostsdir="$RUN/dns" --local=/#/ --domain-needed --bogus-priv --no-negcache \
    --log-facility=- --pid-file=
  start_daemon dns-sync bash "$here/dns-sync.sh"
  wait_for "kubernetes.default.svc in the cluster DNS" 30 \
    grep -q " kubernetes.default.svc.$CLUSTER_DOMAIN\$" "$RUN/dns/services"
}

setup_network
start_control_plane
start_containerd
start_kubelet
start_kube_proxy
start_dns
bash "$here/prometheus.sh" start
[ ! -f "$here/images.sh" ] || bash "$here/images.sh"
log "real node $NODE_NAME is up; logs in $LOGS"
echo "export KUBECONFIG=$KUBECONFIG_ADMIN" >&3
