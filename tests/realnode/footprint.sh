#!/usr/bin/env bash
# Prints what the real-node lane could leave on this machine, one item per line prefixed by the tool that shows it:
# the lane's processes (pgrep), network namespaces (ip netns), links (ip link), mounts (findmnt), iptables rules
# (iptables-save, counters dropped), the kernel settings its daemons change and its state directories. Taken before
# up.sh and after down.sh, the two outputs are equal.
set -uo pipefail
source "$(dirname "$0")/lane.sh"

host_netns=$(readlink /proc/self/ns/net)
# A process is the lane's when it names the lane's paths, is one of its daemons, or lives in another network
# namespace (a container).
pgrep -a -f . | while read -r pid cmd; do
  case "$cmd" in *footprint.sh*) continue ;; esac
  netns=$(readlink "/proc/$pid/ns/net" 2>/dev/null) || continue
  exe=$(basename "${cmd%% *}")
  case "$cmd" in
    *sidecars-realnode*|*tests/realnode/*) ;;
    *) case "$exe" in
         containerd|containerd-shim*|runc|dnsmasq|docker-registry|kubelet|kube-proxy) ;;
         *) [ "$netns" != "$host_netns" ] || continue ;;
       esac ;;
  esac
  echo "pgrep: $cmd"
done | sort
ip netns list | sed 's/^/ip netns: /'
ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print "ip link: " $2 }' | sort
findmnt -rn -o TARGET,SOURCE,FSTYPE | sed 's/^/findmnt: /'
# A table the kernel loaded on first use but that holds no rule, no chain of its own and only ACCEPT policies is the same
# as no table: left out, so that a machine whose tables the lane loaded for the first time compares equal.
iptables-save | grep -v '^#' | sed -E 's/ \[[0-9]+:[0-9]+\]$//' |
  awk '/^\*/ { block = $0; empty = 1; next }
       /^COMMIT$/ { if (!empty) print block "\n" $0; next }
       { block = block "\n" $0; if ($0 !~ /^:[A-Z]+ ACCEPT$/) empty = 0 }' |
  sed 's/^/iptables-save: /'
for s in "${CHANGED_SYSCTLS[@]}"; do echo "sysctl: $s = $(sysctl -n "$s" 2>/dev/null)"; done
for d in "$LANE" "$RUN" /run/containerd /var/log/pods /var/log/containers /var/lib/kubelet /var/lib/kubelet/seccomp \
  /var/lib/kubelet/seccomp/sidecars; do [ ! -e "$d" ] || echo "directory: $d"; done
