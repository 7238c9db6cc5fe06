# Debian's kubernetes source tree and its Go build environment, shared by the control plane build (install.sh here)
# and the real node's (tests/realnode/install.sh). Sourced; `k8s_build <target>...` builds the targets into $BIN.
# shellcheck shell=bash

K8S_VERSION="${K8S_VERSION:-1.20.2}"
CACHE="${SIDECARS_CACHE:-$HOME/.cache/sidecars}"
BIN="$CACHE/k8s-$K8S_VERSION/bin"

# Installs the build's Debian packages, fetches and unpacks the source package once and enters the tree with GOPATH set.
k8s_enter_tree() {
  export DEBIAN_FRONTEND=noninteractive
  local sudo="" update=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  if ! grep -rqs '^Types: deb deb-src' /etc/apt/sources.list.d/debian.sources; then
    $sudo sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
    update=1
  fi
  local packages=(golang-go etcd-server rsync jq openssl golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev)
  if [ -n "$update" ] || [ "$(dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null | grep -c 'install ok installed')" != "${#packages[@]}" ]; then
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${packages[@]}" >/dev/null
  fi

  local work="$CACHE/k8s-src"
  mkdir -p "$work" "$BIN"
  cd "$work"
  # Debian versions the package as 1.20.5+really1.20.2; the orig tarball is the 1.20.2 tree.
  if ! ls kubernetes_*.orig.tar.* >/dev/null 2>&1; then
    apt-get source --download-only kubernetes
  fi
  local orig tree="$work/tree"
  orig=$(ls kubernetes_*.orig.tar.* | head -n1)
  if [ ! -d "$tree/cmd/kube-apiserver" ]; then
    rm -rf "$tree"; mkdir -p "$tree"
    tar -xf "$orig" -C "$tree" --strip-components=1
  fi

  # The vendored reflect2/json-iterator predate Go 1.18's runtime changes and crash the apiserver
  # when it decodes a webhook's JSON patch; Debian's packaged versions are compatible.
  local pkg dst src
  for pkg in github.com/modern-go/reflect2 github.com/json-iterator/go; do
    dst="$tree/vendor/$pkg" src="/usr/share/gocode/src/$pkg"
    find "$dst" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) -delete
    find "$src" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) ! -name '*_test.go' -exec cp {} "$dst/" \;
  done

  export GOPATH="$work/.go" CGO_ENABLED=0 GOFLAGS=-mod=vendor GO111MODULE=on
  mkdir -p "$GOPATH/src/k8s.io"
  ln -sfn "$tree" "$GOPATH/src/k8s.io/kubernetes"
  cd "$GOPATH/src/k8s.io/kubernetes"
}

# Builds cmd/<name> for each name in the tree and installs the binaries into $BIN.
k8s_build() {
  local targets=() c
  for c in "$@"; do targets+=("cmd/$c"); done
  make WHAT="${targets[*]}"
  for c in "$@"; do
    install -m 0755 "_output/local/bin/linux/$(go env GOARCH)/$c" "$BIN/$c" 2>/dev/null \
      || install -m 0755 "$(find _output -type f -name "$c" | head -n1)" "$BIN/$c"
  done
}
