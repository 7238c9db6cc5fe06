#!/usr/bin/env bash
# With --compare first (tests/Sidecars.Webhook.Benchmarks/run.sh --compare [--rounds 3] [--seconds 10] [--warmup 10]
# [--connections 8] [--pods 200]): the webhook published and started as its image starts it, with deploy/'s settings,
# against a Go net/http floor answering with the same patch, a Go no-op and a Kestrel no-op: saturated throughput from
# wrk, resident memory, and what kube-apiserver records per pod create for each; ratios of medians last.
# Otherwise it prints the engine's own time and allocation per review; p50/p99 latency, requests/s and server CPU per request of the
# webhook and of a no-op admission endpoint served the same way; then the webhook's latency as kube-apiserver records
# it for real pod creates.
#   tests/Sidecars.Webhook.Benchmarks/run.sh [--rate 2000] [--seconds 15] [--rounds 3] [--warmup 30]
# The first run uses one HTTP/2 connection, as kube-apiserver does; the second 32 HTTP/1.1 connections.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ "${1:-}" == "--compare" ]]; then
  shift
  out="${BENCH_OUT:-$(mktemp -d /tmp/sidecars-compare-build-XXXXXX)}"
  # NativeAOT links with clang; Debian's versioned clang-14 when no plain clang is installed.
  compiler=()
  if ! command -v clang >/dev/null 2>&1 && command -v clang-14 >/dev/null 2>&1; then
    compiler=(-p:CppCompilerAndLinker=clang-14)
  fi
  # As Dockerfile.webhook publishes it (NativeAOT, needs clang), and the same code managed, measured beside it.
  dotnet publish webhook/Sidecars.Webhook.Host.csproj -c Release -r linux-x64 "${compiler[@]}" -o "$out/webhook" -nologo -v quiet
  dotnet publish webhook/Sidecars.Webhook.Host.csproj -c Release -p:PublishAot=false -p:UseAppHost=false -o "$out/webhook-managed" -nologo -v quiet
  dotnet build tests/Sidecars.Webhook.Benchmarks -c Release -nologo -v quiet
  # The Go floor: standard library only, built offline.
  (cd tests/Sidecars.Webhook.Benchmarks/floor && GOFLAGS=-mod=mod GOPROXY=off go build -o "$out/floor" .)
  # The Kestrel floor also NativeAOT (needs clang), the stack's memory floor.
  aot=()
  if dotnet publish tests/Sidecars.Webhook.Benchmarks/kestrel-floor -c Release -r linux-x64 -p:PublishAot=true "${compiler[@]}" -o "$out/kestrel-aot" -nologo -v quiet; then
    aot=(--kestrel-aot "$out/kestrel-aot/sidecars-kestrel-floor")
  else
    echo "NativeAOT publish of the Kestrel floor failed (clang installed?): measured without it" >&2
  fi
  command -v wrk >/dev/null || echo "wrk not found (Debian: apt-get install wrk); the throughput step will be skipped" >&2
  exec dotnet tests/Sidecars.Webhook.Benchmarks/bin/Release/net10.0/Sidecars.Webhook.Benchmarks.dll compare \
    --webhook-dir "$out/webhook" --settings deploy/base/webhook-settings.json --floor "$out/floor" "${aot[@]}" \
    --review "${REVIEW:-tests/fixtures/admission-reviews/team-a_jupyter-alice_create.json}" \
    --variants "managed (JIT):BENCH_WEBHOOK_DIR=$out/webhook-managed" "$@"
fi
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
