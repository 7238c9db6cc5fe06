#!/usr/bin/env bash
# Stops the real-node lane and removes everything it made on this machine: processes, pod network namespaces, links,
# mounts, iptables rules, kernel settings and its runtime state. Build caches and the registry's images stay in
# ~/.cache/sidecars.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lane.sh"

[ "$(id -u)" = 0 ] || { log "the real node needs root"; exit 1; }
kubectl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=10s "$@"; }
ctr() { command ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

bash "$here/prometheus.sh" stop
# Pods first, through kubelet, so that each sandbox's network is torn down by the runtime that made it. With the
# controllers stopped nothing replaces a deleted pod.
if lane_pid kube-apiserver >/dev/null && lane_pid kubelet >/dev/null; then
  stop_daemon kube-controller-manager
  stop_daemon kube-scheduler
  kubectl get pods --all-namespaces -o 'jsonpath={range .items[*]}{.metadata.uid}{"\n"}{end}' > "$LANE/pod-uids" 2>/dev/null
  kubectl delete pods --all --all-namespaces --grace-period=3 --wait=false >/dev/null 2>&1
  no_pods() { [ -z "$(kubectl get pods --all-namespaces -o name 2>/dev/null)" ]; }
  wait_for "the node's pods to terminate" 90 no_pods || log "pods still listed; removing their containers directly"
fi
stop_daemon kubelet
stop_daemon kube-proxy
[ ! -x "$BIN/kube-proxy" ] || "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true

# Whatever containers remain: kill their tasks and remove their network namespaces while containerd still knows them.
if lane_pid containerd >/dev/null; then
  for id in $(ctr containers list -q 2>/dev/null); do
    netns=$(ctr containers info "$id" 2>/dev/null | jq -r '.Spec.linux.namespaces[]? | select(.type == "network") | .path // empty')
    ctr tasks kill --signal SIGKILL "$id" >/dev/null 2>&1
    ctr tasks delete --force "$id" >/dev/null 2>&1
    ctr containers delete "$id" >/dev/null 2>&1
    case "$netns" in
      /var/run/netns/cni-*|/run/netns/cni-*) ip netns delete "$(basename "$netns")" 2>/dev/null ;;
    esac
  done
fi
stop_daemon containerd
# Shims of this containerd (they outlive it by design).
for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true); do kill -KILL "$pid" 2>/dev/null; done

for name in dns-sync dnsmasq kube-controller-manager kube-scheduler kube-apiserver etcd; do stop_daemon "$name"; done
bash "$here/registry.sh" stop

# Mounts left under the lane's directories (volumes, rootfs, sandbox files), deepest first.
findmnt -rn -o TARGET | grep -E "^($LANE|$RUN)(/|$)" | sort -r | while read -r target; do umount -l "$target"; done

# iptables: the lane's chain and every KUBE-* chain (kubelet's and kube-proxy's), with the rules that jump to them.
for table in filter nat mangle; do
  iptables-save -t "$table" 2>/dev/null | grep -E "^-A [A-Z]+ .*-j (KUBE-|$FORWARD_CHAIN)" | sed 's/^-A /-D /' \
    | while read -r rule; do eval "iptables -t $table $rule" 2>/dev/null; done
  chains=$(iptables-save -t "$table" 2>/dev/null | sed -n -E "s/^:((KUBE-|$FORWARD_CHAIN)[^ ]*) .*/\1/p")
  for chain in $chains; do iptables -t "$table" -F "$chain" 2>/dev/null; done
  for chain in $chains; do iptables -t "$table" -X "$chain" 2>/dev/null; done
done

ip link delete "$BRIDGE" 2>/dev/null
if [ -f "$LANE/sysctl.saved" ]; then
  while IFS='=' read -r key value; do sysctl -qw "$key=$value"; done < "$LANE/sysctl.saved"
fi
[ ! -f "$LANE/made-run-containerd" ] || rmdir /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null
# Pod logs: kubelet removes them only when it collects garbage, after the pods are gone. Directories the lane made
# go whole; in directories that were there before, only the logs of the pods it ran.
if [ -f "$LANE/made-var-log-pods" ]; then
  rm -rf /var/log/pods
else
  while read -r uid; do [ -z "$uid" ] || rm -rf /var/log/pods/*_"$uid"; done < "$LANE/pod-uids" 2>/dev/null
fi
if [ -f "$LANE/made-var-log-containers" ]; then
  rm -rf /var/log/containers
else
  find /var/log/containers -maxdepth 1 -xtype l -delete 2>/dev/null
fi
# The seccomp profile directory, and the kubelet directories above it that the lane made (the outermost goes whole).
for dir in /var/lib/kubelet /var/lib/kubelet/seccomp /var/lib/kubelet/seccomp/sidecars; do
  if [ -f "$LANE/made$(echo "$dir" | tr / -)" ]; then rm -rf --one-file-system "$dir"; break; fi
done
findmnt -rn -o TARGET | grep -qE "^($LANE|$RUN)(/|$)" && { log "mounts remain under $LANE or $RUN; state kept"; exit 1; }
rm -rf --one-file-system "$LANE" "$RUN"
log "real node stopped"
