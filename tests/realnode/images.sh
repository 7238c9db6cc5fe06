#!/usr/bin/env bash
# Builds the project's images from its Dockerfiles with buildah and pushes them to the lane's registry,
# ${SIDECARS_REGISTRY:-127.0.0.1:5000}, over plain HTTP:
#   sidecars/webhook        Dockerfile.webhook
#   sidecars/agent          Dockerfile.agent
#   sidecars/cluster-agent  Dockerfile.cluster-agent
# each tagged with the content hash of its inputs (the build context as .dockerignore selects it, the Dockerfiles and
# the bases) and with `latest`.
# No public registry is reachable here, so the Dockerfiles' base-image arguments name local bases assembled from
# Debian bookworm and this machine's .NET installation (tests/realnode/bases/); the Dockerfiles themselves are built
# as they are. Bases and images stay in a buildah store under ~/.cache/sidecars: a run with nothing changed builds
# nothing. A freshly built image is checked before it is pushed, as its own user (65532): the agent prints its usage,
# the webhook serves /healthz and TLS with a certificate, the cluster agent serves /healthz.
# Restores and package installs inside a build use the host's network namespace, never a pod bridge.
# The last line printed is SIDECARS_IMAGE_TAG=<tag>.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/realnode/lane.sh

started=$SECONDS
IMAGES=(webhook agent cluster-agent)
BASES=tests/realnode/bases
STORE="$CACHE/containers/storage"
# The store's run state must not outlive a reboot (it counts mounts), so it lives on tmpfs, one per store.
STORE_RUN="/dev/shm/sidecars-containers-$(printf '%s' "$STORE" | sha256sum | cut -c1-8)"
IMAGE_LOGS="$CACHE/images-logs"
NUGET_CACHE="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
# crun refuses this machine's hybrid cgroup hierarchy; runc runs the build steps.
export BUILDAH_RUNTIME="${BUILDAH_RUNTIME:-$(command -v runc || echo /usr/sbin/runc)}"

missing=()
for tool in buildah:buildah runc:runc mmdebstrap:mmdebstrap curl:curl openssl:openssl ss:iproute2; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
fi

# overlay.skip_mount_home: the store leaves no mount behind on the machine once a command ends.
BH=($SUDO buildah --root "$STORE" --runroot "$STORE_RUN" --storage-driver overlay --storage-opt overlay.skip_mount_home=true)
bh() { "${BH[@]}" "$@"; }
have_image() { bh inspect --type image "$1" >/dev/null 2>&1; }
mkdir -p "$IMAGE_LOGS" "$NUGET_CACHE"
# One run at a time: runs share the store, the logs and the registry tags.
exec 9> "$CACHE/images.lock"
flock -n 9 || { log "waiting for another images.sh run"; flock 9; }
work=$(mktemp -d)
server_pid=""
cleanup() {
  local name
  [ -n "$server_pid" ] && kill -TERM -- "-$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  for name in "${IMAGES[@]}"; do bh rm "sidecars-check-$name-$$" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- Bases -----------------------------------------------------------------------------------------------------
eval "$(bash "$BASES/rootfs.sh" versions)"
base_key=$({
  cat "$BASES"/*
  echo "$DOTNET_VERSION $ASPNET_VERSION $DOTNET_SDK_VERSION ${NUGET_CERT_REVOCATION_MODE:-} ${SIDECARS_DEBIAN_MIRROR:-}"
  cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true
} | sha256sum | cut -c1-12)
RUNTIME_DEPS_IMAGE="localhost/sidecars-base/runtime-deps:$base_key"
ASPNET_IMAGE="localhost/sidecars-base/aspnet:$base_key"
SDK_IMAGE="localhost/sidecars-base/sdk:$base_key"

# Builds one base from its Containerfile and the tarball rootfs.sh makes for it, unless the store has it.
build_base() {
  local image="$1" name="$2" part="$3" tarball="$4"; shift 4
  if have_image "$image"; then return 0; fi
  log "assembling base $image"
  local context="$work/$name" t0=$SECONDS t1
  mkdir -p "$context"
  bash "$BASES/rootfs.sh" "$part" "$context/$tarball" > "$IMAGE_LOGS/base-$name.log" 2>&1 \
    || { tail -30 "$IMAGE_LOGS/base-$name.log" >&2; exit 1; }
  t1=$SECONDS
  bh bud --quiet --pull=never --format docker -f "$BASES/$name.Containerfile" -t "$image" "$@" "$context" \
    >> "$IMAGE_LOGS/base-$name.log" 2>&1 || { tail -30 "$IMAGE_LOGS/base-$name.log" >&2; exit 1; }
  rm -rf "$context"
  log "base $image ready in $((SECONDS - t0))s (file system $((t1 - t0))s, image $((SECONDS - t1))s)"
}
build_base "$RUNTIME_DEPS_IMAGE" runtime-deps runtime-deps rootfs.tar
build_base "$ASPNET_IMAGE" aspnet dotnet dotnet.tar --build-arg "RUNTIME_DEPS_IMAGE=$RUNTIME_DEPS_IMAGE" \
  --build-arg "DOTNET_VERSION=$DOTNET_VERSION" --build-arg "ASPNET_VERSION=$ASPNET_VERSION"
sdk_args=(--build-arg "DOTNET_VERSION=$DOTNET_VERSION" --build-arg "ASPNET_VERSION=$ASPNET_VERSION"
  --build-arg "DOTNET_SDK_VERSION=$DOTNET_SDK_VERSION")
[ -n "${NUGET_CERT_REVOCATION_MODE:-}" ] && sdk_args+=(--build-arg "NUGET_CERT_REVOCATION_MODE=$NUGET_CERT_REVOCATION_MODE")
build_base "$SDK_IMAGE" sdk sdk rootfs.tar "${sdk_args[@]}"

# --- Images ----------------------------------------------------------------------------------------------------
# The tag: a hash over the blobs of every file the build reads (working tree, tracked or not, ignored files left
# out as .dockerignore leaves them out) and the bases. A temporary index keeps the repository's own index untouched.
CONTEXT=(.dockerignore .editorconfig Directory.Build.props Directory.Packages.props protos src agent webhook
  Dockerfile.webhook Dockerfile.agent Dockerfile.cluster-agent)
index="$work/index"
cp "$(git rev-parse --git-path index)" "$index"
GIT_INDEX_FILE="$index" git add -A -- "${CONTEXT[@]}"
TAG=$({ GIT_INDEX_FILE="$index" git ls-files -s -- "${CONTEXT[@]}"; echo "$base_key"; } | sha256sum | cut -c1-12)

base_args() {
  case "$1" in
    agent | webhook) echo "--build-arg=SDK_IMAGE=$SDK_IMAGE --build-arg=RUNTIME_DEPS_IMAGE=$RUNTIME_DEPS_IMAGE" ;;
    *) echo "--build-arg=SDK_IMAGE=$SDK_IMAGE --build-arg=ASPNET_IMAGE=$ASPNET_IMAGE" ;;
  esac
}

free_port() {
  local port tries=0
  while [ "$tries" -lt 200 ]; do
    port=$((20000 + RANDOM % 30000)); tries=$((tries + 1))
    [ -z "$(ss -Htln "sport = :$port")" ] && { echo "$port"; return 0; }
  done
  return 1
}

# Runs a server image's process in the host network namespace in the background, as the image's own user, from a
# working container named in $server_container; `buildah run` leads its own process group ($server_pid), and stops
# the container when that group is sent TERM.
start_server() {
  local image="$1" name="$2"; shift 2
  server_container=$(bh from --pull=never --name "sidecars-check-$name-$$" "$image")
  setsid "${BH[@]}" run --network host "$@" > "$IMAGE_LOGS/check-$name.log" 2>&1 < /dev/null &
  server_pid=$!
}
stop_server() {
  kill -TERM -- "-$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  bh rm "$server_container" >/dev/null
}
fail_check() { log "check failed: $1"; tail -30 "$IMAGE_LOGS/check-$2.log" >&2; exit 1; }

check_user() {
  local user
  user=$(bh inspect --type image --format '{{.OCIv1.Config.User}}' "$1")
  [ "$user" = 65532 ] || { log "check failed: $1 runs as '$user', not 65532"; exit 1; }
}

check_agent() {
  local image="$1" container status=0
  check_user "$image"
  container=$(bh from --pull=never --name "sidecars-check-agent-$$" "$image")
  bh run --network host "$container" -- /usr/local/bin/sidecars-agent > "$IMAGE_LOGS/check-agent.log" 2>&1 || status=$?
  bh rm "$container" >/dev/null
  [ "$status" = 2 ] && grep -q '^usage: sidecars-agent <pod-agent|lightpeer|seccomp-profile>' "$IMAGE_LOGS/check-agent.log" \
    || fail_check "sidecars-agent without arguments exited $status without its usage" agent
  log "check: $image runs /usr/local/bin/sidecars-agent as 65532 (usage printed)"
}

check_webhook() {
  local image="$1" tls="$work/tls" port metrics
  check_user "$image"
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=sidecars-webhook \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$tls/tls.key" -out "$tls/tls.crt" 2>/dev/null
  # As a Secret volume with the pod's fsGroup gives them: readable by the user the image runs as, by nobody else.
  chown -R 65532:65532 "$tls"; chmod 0500 "$tls"; chmod 0400 "$tls/tls.key" "$tls/tls.crt"
  port=$(free_port); metrics=$(free_port)
  start_server "$image" webhook -v "$tls:/etc/sidecars/tls:ro" "sidecars-check-webhook-$$" -- /app/sidecars-webhook \
    --Sidecars:Webhook:Address=127.0.0.1 "--Sidecars:Webhook:Port=$port" "--Sidecars:Webhook:MetricsPort=$metrics"
  wait_for "the webhook's /healthz on 127.0.0.1:$metrics" 60 curl -fsS --max-time 2 "http://127.0.0.1:$metrics/healthz" \
    || { stop_server; fail_check "the webhook from $image did not serve /healthz" webhook; }
  local code
  code=$(curl -sS --max-time 5 --cacert "$tls/tls.crt" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/healthz" \
    2>>"$IMAGE_LOGS/check-webhook.log") || { stop_server; fail_check "no TLS on 127.0.0.1:$port with the given certificate" webhook; }
  stop_server
  log "check: $image serves /healthz on $metrics and TLS (HTTP $code) on $port with the mounted certificate, as 65532"
}

check_cluster_agent() {
  local image="$1" port grpc
  check_user "$image"
  port=$(free_port); grpc=$(free_port)
  # Outside a cluster the cluster agent only starts with attestation by secret alone, which is all this check needs;
  # with no Secret to issue its certificate into, it serves its probes but is not ready.
  start_server "$image" cluster-agent "sidecars-check-cluster-agent-$$" -- dotnet sidecars-cluster-agent.dll \
    --Sidecars:Identity:ReplicaAttestation=SecretOnly \
    --Sidecars:Serving:Address=127.0.0.1 "--Sidecars:Serving:Port=$grpc" "--Sidecars:Serving:MetricsPort=$port"
  wait_for "the cluster agent's /healthz on 127.0.0.1:$port" 60 curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" \
    || { stop_server; fail_check "the cluster agent from $image did not serve /healthz" cluster-agent; }
  stop_server
  log "check: $image serves /healthz on $port as 65532"
}

for name in "${IMAGES[@]}"; do
  local_ref="localhost/sidecars/$name:$TAG"
  if have_image "$local_ref"; then
    log "image $local_ref: built and checked before, unchanged"
    continue
  fi
  # Built under a provisional tag: only an image that passed its check carries the content tag a later run trusts.
  unchecked="localhost/sidecars/$name:unchecked"
  log "building $local_ref from Dockerfile.$name"
  t0=$SECONDS
  # shellcheck disable=SC2046 # base_args yields separate arguments
  bh bud --pull=never --format docker --network host --layers=false \
    --volume "$NUGET_CACHE:/root/.nuget/packages" $(base_args "$name") \
    -f "Dockerfile.$name" -t "$unchecked" . > "$IMAGE_LOGS/build-$name.log" 2>&1 \
    || { log "building $name failed (log: $IMAGE_LOGS/build-$name.log)"; tail -40 "$IMAGE_LOGS/build-$name.log" >&2; exit 1; }
  log "built $local_ref in $((SECONDS - t0))s"
  "check_${name//-/_}" "$unchecked"
  bh tag "$unchecked" "$local_ref" "localhost/sidecars/$name:latest"
  bh rmi "$unchecked" >/dev/null
done

# --- Push ------------------------------------------------------------------------------------------------------
registry_up() { curl -fsS --max-time 2 "http://$REGISTRY_ADDR/v2/" >/dev/null; }
registry_up || bash tests/realnode/registry.sh start
manifest() {
  curl -fsS --max-time 5 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY_ADDR/v2/sidecars/$1/manifests/$2"
}
for name in "${IMAGES[@]}"; do
  for tag in "$TAG" latest; do
    bh push --quiet --tls-verify=false --format v2s2 "localhost/sidecars/$name:$TAG" \
      "docker://$REGISTRY_ADDR/sidecars/$name:$tag" > "$IMAGE_LOGS/push-$name.log" 2>&1 \
      || { log "pushing $name:$tag failed"; tail -20 "$IMAGE_LOGS/push-$name.log" >&2; exit 1; }
  done
  manifest "$name" "$TAG" > "$work/manifest" || { log "the registry has no sidecars/$name:$TAG after the push"; exit 1; }
  compressed=$(grep -o '"size": *[0-9]*' "$work/manifest" | awk -F: '{ s += $2 } END { printf "%.1f", s / 1048576 }')
  size=$(bh images --format '{{.Size}}' "localhost/sidecars/$name:$TAG" | awk 'NR == 1')
  log "pushed $REGISTRY_ADDR/sidecars/$name:$TAG (and :latest): $size unpacked, $compressed MiB in the registry"
done

# Older builds of the images and bases leave the store.
bh images --format '{{.Name}}:{{.Tag}}' | while IFS= read -r ref; do
  case "$ref" in
    localhost/sidecars/*:"$TAG" | localhost/sidecars/*:latest | localhost/sidecars-base/*:"$base_key") ;;
    localhost/sidecars/* | localhost/sidecars-base/*) bh rmi "$ref" >/dev/null 2>&1 || true ;;
  esac
done
bh rmi --prune >/dev/null 2>&1 || true

log "images ready in $((SECONDS - started))s"
echo "SIDECARS_IMAGE_TAG=$TAG"
