#!/usr/bin/env bash
# Identity figures: SeekBlessings issuances/s and p99, Sign calls/s over the socket, and the NativeAOT agent's
# start-to-ready and resident memory, next to the resident memory of the smallest server of the same stack (Kestrel and
# gRPC over a Unix socket, also NativeAOT). Prints the load average first: the machine may be shared.
# usage: tests/Sidecars.Identity.Benchmarks/run.sh [seconds-per-phase] [--memory ROUNDS [--scrapes N] [--variants "name:VAR=value,...;..."]]
#   (a variant's binary=PATH runs another build of the agent in the same rounds, e.g. the one before a change)
#   (needs clang and zlib1g-dev for NativeAOT). With --memory, only resident memory: both roles and the floor, idle,
#   under load and after N scrapes + probes (default 1000), in ROUNDS interleaved rounds (docs/benchmarks/identity.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-5}"
shift || true
out="${SIDECARS_AOT_OUT:-${TMPDIR:-/tmp}/sidecars-agent-aot}"

echo "== load: $(uptime)"
compiler=()
if ! command -v clang >/dev/null 2>&1 && command -v clang-14 >/dev/null 2>&1; then
  compiler=(-p:CppCompilerAndLinker=clang-14)
fi
# A separate artifacts path keeps the AOT build out of agent/bin (where the tests look for the agent).
dotnet publish agent/Sidecars.Agent.csproj -c Release -r linux-x64 -p:PublishAot=true "${compiler[@]}" \
  --artifacts-path "$out" -nologo -v quiet
agent="$out/publish/Sidecars.Agent/release_linux-x64/sidecars-agent"
echo "== NativeAOT agent: $agent ($(du -h "$agent" | cut -f1))"
dotnet publish tests/Sidecars.Identity.Benchmarks.Floor -c Release -r linux-x64 -p:PublishAot=true "${compiler[@]}" \
  --artifacts-path "$out" -nologo -v quiet
floor="$out/publish/Sidecars.Identity.Benchmarks.Floor/release_linux-x64/grpc-floor"
echo "== NativeAOT floor: $floor ($(du -h "$floor" | cut -f1))"
dotnet build tests/Sidecars.Identity.Benchmarks -c Release -nologo -v quiet

if [[ "${1:-}" == "--memory" ]]; then
  echo "== resident memory: NativeAOT agent in both roles and the floor"
  dotnet run -c Release --no-build --project tests/Sidecars.Identity.Benchmarks -- --seconds "$seconds" --agent "$agent" --floor "$floor" "$@"
  echo "== load: $(uptime)"
  exit 0
fi
echo "== in-process agent"
dotnet run -c Release --no-build --project tests/Sidecars.Identity.Benchmarks -- --seconds "$seconds"
echo "== NativeAOT agent as a process"
dotnet run -c Release --no-build --project tests/Sidecars.Identity.Benchmarks -- --seconds "$seconds" --agent "$agent" --floor "$floor"
echo "== load: $(uptime)"
