#!/usr/bin/env bash
# Runs every test: installs/builds the local control plane once (cached under ~/.cache/sidecars), builds the
# solution, then runs the test projects one after another (each end-to-end project starts its own control plane).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/controlplane/install.sh
# The real-node lane's packages and builds (its tests start the lane itself); it needs root.
if [ "$(id -u)" = 0 ]; then bash tests/realnode/install.sh; fi
export SIDECARS_K8S_BIN="${SIDECARS_K8S_BIN:-$HOME/.cache/sidecars/k8s-1.20.2/bin}"

dotnet build Sidecars.sln -c Release -nologo -v quiet
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# -m:1: test assemblies run in turn so that two control planes never compete for the machine.
status=0
dotnet test Sidecars.sln -c Release --no-build -nologo -m:1 "$@" 2>&1 | tee "$log" || status=$?
# One closing line over every test assembly.
awk '/^(Passed|Failed)!/ { for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
