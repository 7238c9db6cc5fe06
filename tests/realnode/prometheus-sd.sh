#!/usr/bin/env bash
# Kubernetes pod discovery for the lane's Prometheus. Debian builds prometheus without its Kubernetes discovery
# (debian/patches/01-Disable_kubernetes.patch: the client libraries are not packaged), so this watches the lane's
# apiserver as the service account of deploy/prometheus/rbac.yaml (list and watch on pods, nothing else) and keeps a
# file_sd file with the targets and `__meta_kubernetes_pod_*` labels that `kubernetes_sd_configs: [{role: pod}]`
# gives (prometheus-sd.jq). The shipped jobs' relabelling runs on it unchanged; Prometheus rereads the file when it
# changes.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lane.sh"

out="$PROMETHEUS_DIR/sd/pods.json"
kubectl=("$BIN/kubectl" --kubeconfig "$PROMETHEUS_DIR/kubeconfig")
mkdir -p "$(dirname "$out")"

while true; do
  # A watch starts with every pod as ADDED, so each (re)started watch rebuilds the whole view.
  "${kubectl[@]}" get pods --all-namespaces --watch --output-watch-events -o json \
    | jq --unbuffered -L "$here" -r 'include "prometheus-sd"; "\(.type)\t\(.object.metadata.namespace)/\(.object.metadata.name)\t\(.object | pod_targets | tojson)"' \
    | {
      declare -A groups=()
      while IFS=$'\t' read -r type key targets; do
        if [ "$type" = DELETED ]; then unset "groups[$key]"; else groups[$key]="$targets"; fi
        tmp="$out.tmp"
        printf '%s\n' "${groups[@]}" | jq -s 'add // [] | sort_by(.targets[0], .labels.__meta_kubernetes_pod_container_name)' > "$tmp"
        if cmp -s "$tmp" "$out"; then rm -f "$tmp"; else mv "$tmp" "$out"; fi
      done
    }
  sleep 1   # the watch ended (apiserver restart or timeout); start a new one
done
