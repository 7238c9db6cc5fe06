#!/usr/bin/env bash
# Prints p50/p99 latency and requests/s of the webhook and of a no-op admission endpoint served the same way.
#   tests/Sidecars.Webhook.Benchmarks/run.sh [--rate 2000] [--seconds 10] [--warmup 3] [--connections 32]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build webhook/Sidecars.Webhook.Host.csproj -c Release -nologo -v quiet
dotnet build tests/Sidecars.Webhook.Benchmarks -c Release -nologo -v quiet
REVIEW="${REVIEW:-../shared/fixtures/admission-reviews/team-a_jupyter-alice_create.json}"
[ -f "$REVIEW" ] || REVIEW="tests/Sidecars.Mutation.Tests/fixtures/team-a_jupyter-alice_create.json"
BENCH=tests/Sidecars.Webhook.Benchmarks/bin/Release/net10.0/Sidecars.Webhook.Benchmarks.dll
echo "== webhook vs no-op admission endpoint, HTTPS on loopback"
dotnet "$BENCH" run --webhook webhook/bin/Release/net10.0/sidecars-webhook.dll --review "$REVIEW" "$@"
echo "== as seen by kube-apiserver (local control plane)"
bash tests/controlplane/install.sh >/dev/null
dotnet "$BENCH" apiserver --pods "${PODS:-300}"
