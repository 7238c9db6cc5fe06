# Shared settings of the real-node lane, sourced by its scripts. Everything the lane creates on this machine is named
# here once: its directories, addresses, ports, network names and iptables chains.
# shellcheck shell=bash

K8S_VERSION="${K8S_VERSION:-1.20.2}"
CACHE="${SIDECARS_CACHE:-$HOME/.cache/sidecars}"
BIN="$CACHE/k8s-$K8S_VERSION/bin"
# Runtime state (certificates, etcd, containerd's content, kubelet, logs) and sockets/pids, removed by down.sh.
LANE="${SIDECARS_REALNODE_DIR:-/var/lib/sidecars-realnode}"
RUN="${SIDECARS_REALNODE_RUN:-/run/sidecars-realnode}"
LOGS="$LANE/logs"
PKI="$LANE/pki"
KUBECONFIG_ADMIN="$LANE/kubeconfig-admin"
# The apiserver's audit log: requests of the ServiceAccounts in sidecars-system (metadata only).
AUDIT_LOG="$LOGS/audit.log"

REGISTRY_ADDR="${SIDECARS_REGISTRY:-127.0.0.1:5000}"
REGISTRY_DATA="$CACHE/registry"

NODE_NAME="sidecars-realnode"
BRIDGE="sidecars0"
POD_SUBNET="10.244.0.0/24"
HOST_IP="10.244.0.1"              # the bridge's host-side address: apiserver, kubelet and DNS for pods
SERVICE_RANGE="10.96.0.0/24"
KUBERNETES_SERVICE_IP="10.96.0.1"
APISERVER_PORT=6443
ETCD_CLIENT="127.0.0.1:12379"
ETCD_PEER="127.0.0.1:12380"
CONTROLLER_MANAGER_PORT=10257
SCHEDULER_PORT=10259
KUBELET_PORT=10250
KUBELET_HEALTHZ_PORT=10248
PROXY_HEALTHZ="127.0.0.1:10256"
PROXY_METRICS="127.0.0.1:10249"
CLUSTER_DOMAIN="cluster.local"
CONTAINERD_SOCK="$RUN/containerd/containerd.sock"
PAUSE_IMAGE="$REGISTRY_ADDR/sidecars/pause:3.4"
PAUSE_ARCHIVE="$CACHE/realnode/pause.tar"   # static pause from the kubernetes tree, as an OCI image archive
# The test pods' app image (static busybox), archived once and pushed to the local registry.
APP_IMAGE="$REGISTRY_ADDR/realnode/busybox:1.35"
APP_IMAGE_ARCHIVE="$CACHE/realnode/busybox.tar"
# Prometheus (tests/realnode/prometheus.sh): loopback only; its service account comes from deploy/prometheus/rbac.yaml.
PROMETHEUS_ADDR="${SIDECARS_PROMETHEUS:-127.0.0.1:19090}"
PROMETHEUS_DIR="$LANE/prometheus"
PROMETHEUS_NAMESPACE="monitoring"
PROMETHEUS_ACCOUNT="sidecars-prometheus"
PROMETHEUS_SCRAPE_INTERVAL="5s"
# The lane's own filter rules, jumped to from FORWARD: pod traffic never leaves through another interface.
FORWARD_CHAIN="SIDECARS-REALNODE"

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

log() { printf '%s realnode: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Polls a command until it succeeds or the bound passes; prints what it waited for on failure.
wait_for() {
  local what="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "timed out after ${seconds}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# Writes stdin to a file only when it differs, so a rerun of up.sh leaves running daemons' files alone (kube-proxy
# exits when its configuration file changes).
write_file() {
  local tmp="$1.new"
  cat > "$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

# pid of a lane process from its pid file, if it still runs that command.
lane_pid() {
  local file="$RUN/$1.pid" pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  echo "$pid"
}

# Starts a daemon in the background with its log and pid file unless it already runs.
start_daemon() {
  local name="$1"; shift
  if lane_pid "$name" >/dev/null; then return 0; fi
  mkdir -p "$RUN" "$LOGS"
  # Only the log: no descriptor of the caller (up.sh keeps its stdout on fd 3) stays open in a daemon.
  setsid "$@" >>"$LOGS/$name.log" 2>&1 < /dev/null 3>&- &
  echo $! > "$RUN/$name.pid"
}

# Stops a daemon started by start_daemon and its process group (it leads one): TERM, then KILL after a bound.
stop_daemon() {
  local name="$1" pid
  if pid=$(lane_pid "$name"); then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + ${2:-15}))
    while [ -d "/proc/$pid" ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/$name.pid"
}

# Kernel settings kubelet (kernel tunables) and kube-proxy (route_localnet) change; down.sh restores them.
CHANGED_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables)
