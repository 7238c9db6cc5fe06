#!/usr/bin/env bash
# Runs every test: installs/builds the local control plane once (cached under ~/.cache/sidecars), builds the
# solution, then runs the test projects one after another (each end-to-end project starts its own control plane).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/controlplane/install.sh
export SIDECARS_K8S_BIN="${SIDECARS_K8S_BIN:-$HOME/.cache/sidecars/k8s-1.20.2/bin}"

dotnet build Sidecars.sln -c Release -nologo -v quiet
# -m:1: test assemblies run in turn so that two control planes never compete for the machine.
dotnet test Sidecars.sln -c Release --no-build -nologo -m:1 --logger "console;verbosity=normal" "$@"
