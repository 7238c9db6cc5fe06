#!/usr/bin/env bash
# Says whether the real-node lane runs: exit 0 and `export KUBECONFIG=<path>` when every daemon of the lane is up and
# the node is Ready, exit 1 naming what is missing otherwise.
set -uo pipefail
source "$(dirname "$0")/lane.sh"

missing=()
for name in registry etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy dnsmasq dns-sync prometheus-sd prometheus; do
  lane_pid "$name" >/dev/null || missing+=("$name")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "real node not running: ${missing[*]} stopped" >&2
  exit 1
fi
ready=$("$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=5s get node "$NODE_NAME" \
  -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)
[ "$ready" = True ] || { echo "real node not Ready (${ready:-no answer})" >&2; exit 1; }
echo "export KUBECONFIG=$KUBECONFIG_ADMIN"
