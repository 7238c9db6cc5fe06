#!/usr/bin/env bash
# Root file systems of the local base images, as tarballs, from Debian bookworm (mmdebstrap, the machine's Debian
# mirror) and the .NET installation on this machine. They stand in for the public .NET images where no public
# container registry is reachable.
#   rootfs.sh runtime-deps OUT.tar  what a NativeAOT or framework-dependent .NET program needs to run: glibc, libgcc,
#                                   libstdc++, OpenSSL, CA certificates, time zones; no shell, no package manager
#   rootfs.sh dotnet OUT.tar        the .NET and ASP.NET Core shared frameworks and the dotnet host, as a layer
#   rootfs.sh sdk OUT.tar           a build system: the machine's .NET SDK, clang and zlib for NativeAOT, its CA trust
# DOTNET_ROOT (default: where `dotnet` on PATH lives) names the .NET installation; SIDECARS_DEBIAN_MIRROR a mirror
# other than Debian's default.
set -euo pipefail

SUITE=bookworm
DOTNET_ROOT="${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}"
MIRRORS=()
[ -n "${SIDECARS_DEBIAN_MIRROR:-}" ] && MIRRORS=("$SIDECARS_DEBIAN_MIRROR")
# The runtime image's packages (the public runtime-deps image's set; no ICU: the projects use invariant globalization).
RUNTIME_PACKAGES=(base-files netbase tzdata ca-certificates libc6 libgcc-s1 libstdc++6 libssl3)
# The build image's packages: NativeAOT needs clang and zlib headers; the SDK itself needs ICU.
SDK_PACKAGES=(ca-certificates libicu72 libssl3 tzdata clang zlib1g-dev)
SLIM=(--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright')

# Newest installed version of a .NET component directory (e.g. shared/Microsoft.NETCore.App).
newest() { ls -1 "$DOTNET_ROOT/$1" | sort -V | tail -1; }

runtime_deps() {
  local out="$1" work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  mmdebstrap --quiet --variant=essential --include="$(IFS=,; echo "${RUNTIME_PACKAGES[*]}")" "${SLIM[@]}" \
    "$SUITE" "$work/root" "${MIRRORS[@]}"
  # Only the listed packages' own files go into the image (paths through the merged-/usr links resolved), plus what
  # their maintainer scripts generate (the CA bundle, the loader cache) and the accounts of the public image; not
  # glibc's iconv modules, which .NET does not load.
  {
    chroot "$work/root" sh -c 'dpkg-query -L "$@" | grep "^/" | while IFS= read -r p; do
        [ -e "$p" ] || [ -L "$p" ] || continue
        d=$(realpath "$(dirname "$p")"); printf "%s\n" "${d%/}/$(basename "$p")" | cut -c2-
      done' sh "${RUNTIME_PACKAGES[@]}"
    printf '%s\n' bin lib lib64 sbin tmp etc/ld.so.cache
    (cd "$work/root" && find etc/ssl/certs)
  } | grep -v -E '^(|/|\.|usr/share/doc/[^/]+/.+[^t]|usr/share/lintian/.*|usr/lib/x86_64-linux-gnu/gconv/.*)$' | sort -u \
    > "$work/files"
  mkdir -p "$work/extra/etc" "$work/extra/home/app"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:1654:1654::/home/app:/usr/sbin/nologin\n' > "$work/extra/etc/passwd"
  printf 'root:x:0:\napp:x:1654:\n' > "$work/extra/etc/group"
  tar --numeric-owner --no-recursion -C "$work/root" -cf "$out" -T "$work/files"
  tar --numeric-owner --owner=0 --group=0 -C "$work/extra" -rf "$out" etc/passwd etc/group
  tar --numeric-owner --owner=1654 --group=1654 --no-recursion -C "$work/extra" -rf "$out" home/app
}

dotnet_layer() {
  local out="$1" work runtime aspnet fxr
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  runtime=$(newest shared/Microsoft.NETCore.App)
  aspnet=$(newest shared/Microsoft.AspNetCore.App)
  fxr=$(newest host/fxr)
  local dest="$work/usr/share/dotnet"
  mkdir -p "$dest/host/fxr" "$dest/shared/Microsoft.NETCore.App" "$dest/shared/Microsoft.AspNetCore.App" "$work/usr/bin"
  cp -a "$DOTNET_ROOT/dotnet" "$DOTNET_ROOT/LICENSE.txt" "$DOTNET_ROOT/ThirdPartyNotices.txt" "$dest/"
  cp -a "$DOTNET_ROOT/host/fxr/$fxr" "$dest/host/fxr/"
  cp -a "$DOTNET_ROOT/shared/Microsoft.NETCore.App/$runtime" "$dest/shared/Microsoft.NETCore.App/"
  cp -a "$DOTNET_ROOT/shared/Microsoft.AspNetCore.App/$aspnet" "$dest/shared/Microsoft.AspNetCore.App/"
  ln -s ../share/dotnet/dotnet "$work/usr/bin/dotnet"
  tar --numeric-owner --owner=0 --group=0 -C "$work" -cf "$out" usr
}

sdk() {
  local out="$1"
  # The machine's own CA additions come along, so that a build reaches NuGet the way the machine does.
  mmdebstrap --quiet --variant=apt --include="$(IFS=,; echo "${SDK_PACKAGES[*]}")" "${SLIM[@]}" \
    --customize-hook='for c in /usr/local/share/ca-certificates/*.crt; do [ -e "$c" ] && cp "$c" "$1/usr/local/share/ca-certificates/"; done; chroot "$1" update-ca-certificates >/dev/null' \
    --customize-hook="copy-in $DOTNET_ROOT /usr/share" \
    --customize-hook='[ -e "$1/usr/share/dotnet" ] || mv "$1/usr/share/'"$(basename "$DOTNET_ROOT")"'" "$1/usr/share/dotnet"; ln -s ../share/dotnet/dotnet "$1/usr/bin/dotnet"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$SUITE" "$out" "${MIRRORS[@]}"
}

# Versions of the .NET installation, for the images' environment (the public images set the same variables).
versions() {
  echo "DOTNET_VERSION=$(newest shared/Microsoft.NETCore.App)"
  echo "ASPNET_VERSION=$(newest shared/Microsoft.AspNetCore.App)"
  echo "DOTNET_SDK_VERSION=$(newest sdk)"
}

case "${1:-}" in
  runtime-deps) runtime_deps "$2" ;;
  dotnet) dotnet_layer "$2" ;;
  sdk) sdk "$2" ;;
  versions) versions ;;
  *) echo "usage: $0 runtime-deps|dotnet|sdk OUT.tar | versions" >&2; exit 2 ;;
esac
