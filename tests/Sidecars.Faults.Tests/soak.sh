#!/usr/bin/env bash
# Fault soak: the fault scenarios with full counts (1,000 secret operations, 100,000 hostile reviews, 100 user-pod
# creates), RUNS times each (default 5), then the recovery figures: min / median / max per scenario.
#   tests/Sidecars.Faults.Tests/soak.sh            # needs SIDECARS_K8S_BIN for the control-plane scenarios
#   SOAK_LOG=soak.log tests/Sidecars.Faults.Tests/soak.sh   # keeps the runs' full output there (else a temporary file)
#   tests/Sidecars.Faults.Tests/soak.sh --summarize soak.log # the table from a kept log, also of runs cut short
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${RUNS:-5}"
export SIDECARS_FAULTS_SECRET_OPERATIONS="${SIDECARS_FAULTS_SECRET_OPERATIONS:-1000}"
export SIDECARS_FAULTS_HOSTILE_REVIEWS="${SIDECARS_FAULTS_HOSTILE_REVIEWS:-100000}"
export SIDECARS_FAULTS_WEBHOOK_CREATES="${SIDECARS_FAULTS_WEBHOOK_CREATES:-500}"
export SIDECARS_FAULTS_USER_POD_CREATES="${SIDECARS_FAULTS_USER_POD_CREATES:-100}"
export SIDECARS_FAULTS_OVERLOAD_SECONDS="${SIDECARS_FAULTS_OVERLOAD_SECONDS:-60}"
export SIDECARS_K8S_BIN="${SIDECARS_K8S_BIN:-$HOME/.cache/sidecars/k8s-1.20.2/bin}"
summarize() {
# One line per scenario: every recovery time measured, then min / median / max.
# (xUnit prints each test's output twice: once in its progress lines, which are left out here.)
grep -v '\[xUnit.net' "$1" | grep -ohE '(recovery \(SIGKILL[^:]*: .*|[A-Za-z]+: down [0-9.]+ s; from the control plane back to the waiter.s answer [0-9.]+ s|from SIGKILL to every repeated create answered( Available)?: [0-9.]+ s|from the watcher back to the waiter.s answer [0-9.]+ s, to the pod created meanwhile joined [0-9.]+ s|the pod created after it joined [0-9.]+ s, to the webhook deciding by the labels changed after it [0-9.]+ s|SIGTERM to exit [0-9.]+ s, start to ready [0-9.]+ s|reported \(metric \+ event\) [0-9.]+ s|slowest answer [0-9]+ ms|[0-9.]+ s after the overload)' |
  awk '
    /^recovery/ { n = split($0, a, ": "); split(a[2], v, ", "); match(a[1], /call, [^)]*/); for (i in v) add("cluster agent killed during secret operations, " substr(a[1], RSTART + 6, RLENGTH - 6), v[i]) }
    /from the control plane back/ { split($0, a, ":"); match($0, /answer [0-9.]+/); add(a[1] " restarted", substr($0, RSTART + 7, RLENGTH - 7)) }
    /every repeated create answered Available/ { match($0, /[0-9.]+ s$/); add("cluster agent killed during CreateCluster/DeleteCluster", substr($0, RSTART, RLENGTH - 2)) }
    /every repeated create answered:/ { match($0, /[0-9.]+ s$/); add("cluster agent killed during user-pod creations", substr($0, RSTART, RLENGTH - 2)) }
    /from the watcher back/ { split($0, a, " s, "); match(a[1], /[0-9.]+$/); add("watch resumed after compaction (410): waiter answered", substr(a[1], RSTART)); match(a[2], /[0-9.]+ s$/); add("watch resumed after compaction (410): new pod joined", substr(a[2], RSTART, RLENGTH - 2)) }
    /pod created after it joined/ { split($0, a, " s, "); match(a[1], /[0-9.]+$/); add("kube-apiserver restarted: new pod joined its network", substr(a[1], RSTART)); match($0, /[0-9.]+ s$/); add("kube-apiserver restarted: webhook sees new namespace labels", substr($0, RSTART, RLENGTH - 2)) }
    /SIGTERM to exit/ { match($0, /exit [0-9.]+/); add("webhook rolling restart, SIGTERM to exit (drained)", substr($0, RSTART + 5, RLENGTH - 5)); match($0, /ready [0-9.]+/); add("webhook rolling restart, start to ready", substr($0, RSTART + 6, RLENGTH - 6)) }
    /reported \(metric/ { match($0, /[0-9.]+ s$/); add("webhook back, start to every fail-open pod reported", substr($0, RSTART, RLENGTH - 2)) }
    /slowest answer/ { match($0, /[0-9]+ ms$/); add("webhook at 2x saturation: slowest answer (s)", substr($0, RSTART, RLENGTH - 3) / 1000) }
    /after the overload$/ { match($0, /[0-9.]+ s after/); add("webhook after overload: memory back within 20 %", substr($0, RSTART, RLENGTH - 8)) }
    function add(k, x) { vals[k] = vals[k] " " x; cnt[k]++ }
    END {
      printf "%-60s %5s %8s %8s %8s\n", "scenario", "n", "min s", "median s", "max s"
      for (k in vals) {
        n = split(substr(vals[k], 2), x, " ")
        for (i = 2; i <= n; i++) { t = x[i] + 0; for (j = i - 1; j >= 1 && x[j] + 0 > t; j--) x[j + 1] = x[j]; x[j + 1] = t }
        med = (n % 2) ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
        printf "%-60s %5d %8.1f %8.1f %8.1f\n", k, n, x[1], med, x[n]
      }
    }'
}

if [ "${1:-}" = "--summarize" ]; then
  summarize "$2"
  exit 0
fi

# The whole solution: the scenarios run the built hosts and, under the simulated kubelet, the agent.
dotnet build Sidecars.sln -c Release -nologo -v quiet
if [ -n "${SOAK_LOG:-}" ]; then
  log="$SOAK_LOG"
  : > "$log"
else
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
fi
status=0
for run in $(seq 1 "$runs"); do
  echo "== run $run of $runs"
  dotnet test tests/Sidecars.Faults.Tests -c Release --no-build -nologo --logger "console;verbosity=detailed" "$@" 2>&1 | tee -a "$log" | grep -E '^\s*(Passed|Failed) |recovery|down .* s;|from SIGKILL|cut by the kill|half-created pods|on resume:|webhook (rolled|down):|offered .* slowest|after the overload' || status=$?
done
summarize "$log"
exit "$status"
