#!/usr/bin/env bash
# The real-node lane's Prometheus: Debian's prometheus (2.42) as a host process on $PROMETHEUS_ADDR (loopback only)
# with the jobs shipped in deploy/prometheus/scrape-config.yaml and the rules in deploy/prometheus/rules.yaml. Debian's
# build has no Kubernetes discovery, so the jobs' `kubernetes_sd_configs: [{role: pod}]` read the same pod targets
# from prometheus-sd.sh, which watches the lane's apiserver as the service account deploy/prometheus/rbac.yaml
# creates (list and watch on pods, nothing else); their relabelling is the shipped one. Data, configuration and the
# token live in $LANE/prometheus, removed on stop.
#   bash tests/realnode/prometheus.sh start|stop|status
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lane.sh"
shipped="$here/../../deploy/prometheus"

kubectl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=10s "$@"; }
prometheus_up() { curl -fsS --max-time 2 "http://$PROMETHEUS_ADDR/-/ready" >/dev/null; }

# The bearer token of the shipped service account (1.20: the token controller writes it into a Secret).
service_account_token() {
  local secret
  secret=$(kubectl -n "$PROMETHEUS_NAMESPACE" get serviceaccount "$PROMETHEUS_ACCOUNT" -o 'jsonpath={.secrets[0].name}') || return 1
  [ -n "$secret" ] || return 1
  kubectl -n "$PROMETHEUS_NAMESPACE" get secret "$secret" -o 'jsonpath={.data.token}' | base64 -d
}

# The shipped jobs, each pod discovery read from prometheus-sd.sh's file instead of the apiserver.
lane_config() {
  cat <<YAML
global:
  scrape_interval: $PROMETHEUS_SCRAPE_INTERVAL
  scrape_timeout: 3s
  evaluation_interval: $PROMETHEUS_SCRAPE_INTERVAL
rule_files:
  - $PROMETHEUS_DIR/rules.yaml
YAML
  sed -E -e "s|^( *)kubernetes_sd_configs:\$|\1file_sd_configs:|" \
    -e "s|^( *)- role: pod\$|\1- files: [$PROMETHEUS_DIR/sd/pods.json]|" "$shipped/scrape-config.yaml"
}

case "${1:-}" in
  start)
    command -v prometheus >/dev/null 2>&1 || bash "$here/install.sh"
    mkdir -p "$PROMETHEUS_DIR/data" "$PROMETHEUS_DIR/sd"
    chmod 0700 "$PROMETHEUS_DIR"
    kubectl apply -k "$shipped" >/dev/null
    wait_for "the token of service account $PROMETHEUS_NAMESPACE/$PROMETHEUS_ACCOUNT" 60 service_account_token
    token=$(service_account_token)
    ( umask 077; write_file "$PROMETHEUS_DIR/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: $NODE_NAME
  cluster: {server: "https://$HOST_IP:$APISERVER_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: $PROMETHEUS_ACCOUNT
  user: {token: "$token"}
contexts:
- name: $NODE_NAME
  context: {cluster: $NODE_NAME, user: $PROMETHEUS_ACCOUNT}
current-context: $NODE_NAME
YAML
    )
    unset token
    [ -f "$PROMETHEUS_DIR/sd/pods.json" ] || echo '[]' > "$PROMETHEUS_DIR/sd/pods.json"
    # The rules in place first: the configuration check reads them.
    changed=0
    cmp -s "$shipped/rules.yaml" "$PROMETHEUS_DIR/rules.yaml" || { cp "$shipped/rules.yaml" "$PROMETHEUS_DIR/rules.yaml"; changed=1; }
    lane_config > "$PROMETHEUS_DIR/prometheus.yml.new"
    jobs=$(grep -c '^ *- role: pod$' "$shipped/scrape-config.yaml")
    pointed=$(grep -c "^ *- files: \[$PROMETHEUS_DIR/sd/pods.json\]\$" "$PROMETHEUS_DIR/prometheus.yml.new")
    [ "$jobs" -gt 0 ] && [ "$jobs" = "$pointed" ] && ! grep -q kubernetes_sd_configs "$PROMETHEUS_DIR/prometheus.yml.new" \
      || { log "deploy/prometheus/scrape-config.yaml: only $pointed of $jobs pod discoveries read from the lane's"; exit 1; }
    promtool check config "$PROMETHEUS_DIR/prometheus.yml.new" >/dev/null 2>&1 \
      || { promtool check config "$PROMETHEUS_DIR/prometheus.yml.new" >&2 || true; exit 1; }
    if cmp -s "$PROMETHEUS_DIR/prometheus.yml.new" "$PROMETHEUS_DIR/prometheus.yml"; then
      rm -f "$PROMETHEUS_DIR/prometheus.yml.new"
    else
      mv "$PROMETHEUS_DIR/prometheus.yml.new" "$PROMETHEUS_DIR/prometheus.yml"; changed=1
    fi
    start_daemon prometheus-sd bash "$here/prometheus-sd.sh"
    if pid=$(lane_pid prometheus); then
      [ "$changed" = 0 ] || kill -HUP "$pid"
    else
      start_daemon prometheus prometheus --config.file="$PROMETHEUS_DIR/prometheus.yml" \
        --storage.tsdb.path="$PROMETHEUS_DIR/data" --storage.tsdb.retention.time=1d \
        --web.listen-address="$PROMETHEUS_ADDR" --log.level=warn
    fi
    wait_for "Prometheus on $PROMETHEUS_ADDR" 60 prometheus_up || { tail -20 "$LOGS/prometheus.log" >&2; exit 1; }
    log "Prometheus serving on http://$PROMETHEUS_ADDR"
    ;;
  stop)
    stop_daemon prometheus
    stop_daemon prometheus-sd
    rm -rf --one-file-system "$PROMETHEUS_DIR"
    ;;
  status)
    prometheus_up && echo "Prometheus serving on http://$PROMETHEUS_ADDR"
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
