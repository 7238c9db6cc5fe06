#!/usr/bin/env bash
# Prints the engine's own time and allocation per review; p50/p99 latency, requests/s and server CPU per request of the
# webhook and of a no-op admission endpoint served the same way; then the webhook's latency as kube-apiserver records
# it for real pod creates.
#   tests/Sidecars.Webhook.Benchmarks/run.sh [--rate 2000] [--seconds 15] [--rounds 3] [--warmup 30]
# The first run uses one HTTP/2 connection, as kube-apiserver does; the second 32 HTTP/1.1 connections.
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build webhook/Sidecars.Webhook.Host.csproj -c Release -nologo -v quiet
dotnet build tests/Sidecars.Webhook.Benchmarks -c Release -nologo -v quiet
REVIEW="${REVIEW:-tests/fixtures/admission-reviews/team-a_jupyter-alice_create.json}"
BENCH=tests/Sidecars.Webhook.Benchmarks/bin/Release/net10.0/Sidecars.Webhook.Benchmarks.dll
WEBHOOK=webhook/bin/Release/net10.0/sidecars-webhook.dll
echo "== the admission engine alone"
dotnet "$BENCH" engine --review "$REVIEW"
echo "== webhook vs no-op admission endpoint, HTTPS on loopback"
dotnet "$BENCH" run --webhook "$WEBHOOK" --review "$REVIEW" --http 2.0 --connections 1 "$@"
dotnet "$BENCH" run --webhook "$WEBHOOK" --review "$REVIEW" --http 1.1 --connections 32 "$@"
echo "== as seen by kube-apiserver (local control plane)"
bash tests/controlplane/install.sh >/dev/null
dotnet "$BENCH" apiserver --pods "${PODS:-300}"
