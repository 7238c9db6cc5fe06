#!/usr/bin/env bash
# The cluster DNS's view of the API: keeps one hosts file of dnsmasq's --hostsdir equal to the cluster's Services
# (<name>.<namespace>.svc.cluster.local -> ClusterIP). dnsmasq rereads the file when it changes.
set -uo pipefail
source "$(dirname "$0")/lane.sh"

out="$RUN/dns/services"
kubectl=("$BIN/kubectl" --kubeconfig "$LANE/kubeconfig-dns-sync")

while true; do
  # A watch starts with every Service as ADDED, so each (re)started watch rebuilds the whole view.
  "${kubectl[@]}" get services --all-namespaces --watch --output-watch-events -o json \
    | jq --unbuffered -r '[.type, .object.metadata.namespace, .object.metadata.name, (.object.spec.clusterIP // "None")] | @tsv' \
    | {
      declare -A ips=()
      while IFS=$'\t' read -r type ns name ip; do
        case "$type" in
          DELETED) unset "ips[$ns/$name]" ;;
          *) if [ "$ip" = None ] || [ -z "$ip" ]; then unset "ips[$ns/$name]"; else ips[$ns/$name]="$ip"; fi ;;
        esac
        tmp="$out.tmp"
        for key in "${!ips[@]}"; do
          printf '%s %s.%s.svc.%s\n' "${ips[$key]}" "${key#*/}" "${key%%/*}" "$CLUSTER_DOMAIN"
        done | sort > "$tmp"
        if cmp -s "$tmp" "$out"; then rm -f "$tmp"; else mv "$tmp" "$out"; fi
      done
    }
  sleep 1   # the watch ended (apiserver restart or timeout); start a new one
done
