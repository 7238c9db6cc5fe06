#!/usr/bin/env bash
# Installs etcd and builds kube-apiserver, kube-controller-manager, kube-scheduler and kubectl
# from Debian's kubernetes source package. Binaries are cached under ~/.cache/sidecars/k8s-<version>.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.20.2}"
CACHE="${SIDECARS_CACHE:-$HOME/.cache/sidecars}"
BIN="$CACHE/k8s-$K8S_VERSION/bin"
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

have_all() {
  for c in "${COMPONENTS[@]}"; do [ -x "$BIN/$c" ] || return 1; done
  command -v etcd >/dev/null 2>&1
}

if have_all; then
  echo "control plane $K8S_VERSION cached in $BIN"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

if ! grep -rqs '^Types: deb deb-src' /etc/apt/sources.list.d/debian.sources; then
  $SUDO sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq golang-go etcd-server rsync jq openssl \
  golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev >/dev/null

WORK="$CACHE/k8s-src"
mkdir -p "$WORK" "$BIN"
cd "$WORK"
# Debian versions the package as 1.20.5+really1.20.2; the orig tarball is the 1.20.2 tree.
if ! ls kubernetes_*.orig.tar.* >/dev/null 2>&1; then
  apt-get source --download-only kubernetes
fi
ORIG=$(ls kubernetes_*.orig.tar.* | head -n1)
TREE="$WORK/tree"
if [ ! -d "$TREE/cmd/kube-apiserver" ]; then
  rm -rf "$TREE"; mkdir -p "$TREE"
  tar -xf "$ORIG" -C "$TREE" --strip-components=1
fi

# The vendored reflect2/json-iterator predate Go 1.18's runtime changes and crash the apiserver
# when it decodes a webhook's JSON patch; Debian's packaged versions are compatible.
replace_vendor() {
  local pkg="$1" dst="$TREE/vendor/$1" src="/usr/share/gocode/src/$1"
  find "$dst" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) -delete
  find "$src" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) ! -name '*_test.go' -exec cp {} "$dst/" \;
}
replace_vendor github.com/modern-go/reflect2
replace_vendor github.com/json-iterator/go

export GOPATH="$WORK/.go" CGO_ENABLED=0 GOFLAGS=-mod=vendor GO111MODULE=on
mkdir -p "$GOPATH/src/k8s.io"
ln -sfn "$TREE" "$GOPATH/src/k8s.io/kubernetes"
cd "$GOPATH/src/k8s.io/kubernetes"
make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl"
for c in "${COMPONENTS[@]}"; do
  install -m 0755 "_output/local/bin/linux/$(go env GOARCH)/$c" "$BIN/$c" 2>/dev/null \
    || install -m 0755 "$(find _output -type f -name "$c" | head -n1)" "$BIN/$c"
done
echo "control plane $K8S_VERSION built into $BIN"
