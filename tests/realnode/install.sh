#!/usr/bin/env bash
# Installs the real node's Debian packages (containerd, runc, CNI plugins, registry, dnsmasq, iptables, prometheus) and builds
# kubelet, kube-proxy and a static pause image from the same kubernetes source tree as the control plane.
# Everything built is cached under ~/.cache/sidecars/k8s-<version>.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lane.sh"

PACKAGES=(containerd runc containernetworking-plugins docker-registry dnsmasq-base iptables conntrack iproute2 procps kmod
  curl jq openssl gcc libc6-dev busybox-static)
installed=$(dpkg-query -W -f='${Status}\n' "${PACKAGES[@]}" 2>/dev/null | grep -c 'install ok installed' || true)
if [ "$installed" != "${#PACKAGES[@]}" ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${PACKAGES[@]}" >/dev/null
fi

# The lane's Prometheus (tests/realnode/prometheus.sh), without the exporters Debian recommends. The lane runs its own
# on loopback: the packaged service (all interfaces), if systemd started it, is stopped and disabled.
if ! dpkg-query -W -f='${Status}\n' prometheus 2>/dev/null | grep -q 'install ok installed'; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 prometheus >/dev/null
  [ ! -d /run/systemd/system ] || $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

# Bridged pod traffic must pass iptables for Services to work between pods on the bridge.
[ -d /proc/sys/net/bridge ] || $SUDO modprobe br_netfilter

bash "$here/../controlplane/install.sh"

if [ ! -x "$BIN/kubelet" ] || [ ! -x "$BIN/kube-proxy" ]; then
  ( source "$here/../controlplane/k8s-source.sh"; k8s_enter_tree; k8s_build kubelet kube-proxy )
  log "kubelet and kube-proxy $K8S_VERSION built into $BIN"
fi

# oci_archive <rootfs dir> <image name> <out.tar> <config object>: a one-layer OCI image archive (`ctr images import`).
oci_archive() {
  local rootfs="$1" name="$2" out="$3" config_body="$4" work blob_dir diff_id layer layer_size config config_size manifest manifest_size
  work=$(mktemp -d)
  blob_dir="$work/oci/blobs/sha256"
  mkdir -p "$blob_dir"
  blob() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); mv "$1" "$blob_dir/$d"; echo "$d"; }
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
  diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  gzip -n -9 "$work/layer.tar"
  layer=$(blob "$work/layer.tar.gz"); layer_size=$(stat -c %s "$blob_dir/$layer")
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$config_body" "$diff_id" > "$work/config.json"
  config_size=$(stat -c %s "$work/config.json"); config=$(blob "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
    "$config" "$config_size" "$layer" "$layer_size" > "$work/manifest.json"
  manifest_size=$(stat -c %s "$work/manifest.json"); manifest=$(blob "$work/manifest.json")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$manifest_size" "$name" "${name##*:}" > "$work/oci/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$work/oci/oci-layout"
  mkdir -p "$(dirname "$out")"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/oci" -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

# The sandbox image: pause.c from the same tree, linked statically.
if [ ! -f "$PAUSE_ARCHIVE" ]; then
  rootfs=$(mktemp -d)
  gcc -Os -Wall -Werror -static -DVERSION="v${PAUSE_IMAGE##*:}-sidecars" -o "$rootfs/pause" "$CACHE/k8s-src/tree/build/pause/linux/pause.c"
  strip "$rootfs/pause"
  oci_archive "$rootfs" "$PAUSE_IMAGE" "$PAUSE_ARCHIVE" '{"Entrypoint":["/pause"]}'
  rm -rf "$rootfs"
  log "pause image archived in $PAUSE_ARCHIVE"
fi

# A small app image for the lane's test pods: Debian's static busybox (sh, sleep, wget, nslookup, httpd).
if [ ! -f "$APP_IMAGE_ARCHIVE" ]; then
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"; done
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
  oci_archive "$rootfs" "$APP_IMAGE" "$APP_IMAGE_ARCHIVE" '{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]}'
  rm -rf "$rootfs"
  log "app image archived in $APP_IMAGE_ARCHIVE"
fi
