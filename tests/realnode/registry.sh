#!/usr/bin/env bash
# The real-node lane's image registry: Debian's docker-registry (distribution 2.8) on 127.0.0.1:5000, plain HTTP,
# its blobs cached under ~/.cache/sidecars/registry so that images survive down.sh.
#   bash tests/realnode/registry.sh start|stop|status
set -euo pipefail
source "$(dirname "$0")/lane.sh"

registry_up() { curl -fsS --max-time 2 "http://$REGISTRY_ADDR/v2/" >/dev/null; }

case "${1:-}" in
  start)
    if ! command -v docker-registry >/dev/null 2>&1; then
      $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 docker-registry >/dev/null
    fi
    mkdir -p "$RUN" "$REGISTRY_DATA"
    write_file "$RUN/registry.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $REGISTRY_DATA
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
  headers:
    X-Content-Type-Options: [nosniff]
YAML
    start_daemon registry docker-registry serve "$RUN/registry.yml"
    wait_for "the registry on $REGISTRY_ADDR" 30 registry_up || { tail -20 "$LOGS/registry.log" >&2; exit 1; }
    log "registry serving on http://$REGISTRY_ADDR"
    ;;
  stop)
    stop_daemon registry
    ;;
  status)
    registry_up && echo "registry serving on http://$REGISTRY_ADDR"
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
