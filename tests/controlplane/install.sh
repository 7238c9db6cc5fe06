#!/usr/bin/env bash
# Installs etcd and builds kube-apiserver, kube-controller-manager, kube-scheduler and kubectl
# from Debian's kubernetes source package. Binaries are cached under ~/.cache/sidecars/k8s-<version>.
set -euo pipefail
source "$(dirname "$0")/k8s-source.sh"

COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

have_all() {
  for c in "${COMPONENTS[@]}"; do [ -x "$BIN/$c" ] || return 1; done
  command -v etcd >/dev/null 2>&1
}

if have_all; then
  echo "control plane $K8S_VERSION cached in $BIN"
  exit 0
fi

k8s_enter_tree
k8s_build "${COMPONENTS[@]}"
echo "control plane $K8S_VERSION built into $BIN"
