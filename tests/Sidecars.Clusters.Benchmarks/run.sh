#!/usr/bin/env bash
# Network convergence figures: N lightpeer pods (real agent processes run by the local kubelet) in 5 networks, time
# from the last pod Ready to every peer knowing every other, then kill -9 of 20 % of the lightpeers (the kubelet
# restarts them) and the time until every peer knows every other again; min/median/max over the runs. Prints the load
# average with each run: the machine may be shared.
# usage: tests/Sidecars.Clusters.Benchmarks/run.sh [pods (default 200)] [runs (default 5)] [kill percent (default 20)]
# Needs the control plane binaries (tests/controlplane/install.sh); builds the agent.
set -euo pipefail
cd "$(dirname "$0")/../.."
pods="${1:-200}"
runs="${2:-5}"
kill="${3:-20}"
export SIDECARS_K8S_BIN="${SIDECARS_K8S_BIN:-$HOME/.cache/sidecars/k8s-1.20.2/bin}"
echo "== load: $(uptime)"
dotnet build agent -c Release -nologo -v quiet
dotnet build tests/Sidecars.Clusters.Benchmarks -c Release -nologo -v quiet
dotnet run -c Release --no-build --project tests/Sidecars.Clusters.Benchmarks -- \
  --creates 0 --pods "$pods" --networks 5 --runs "$runs" --kill-percent "$kill"
echo "== load: $(uptime)"
