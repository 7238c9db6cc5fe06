#!/usr/bin/env bash
# Resident memory of the NativeAOT agent in both roles, idle, under load and after N Prometheus scrapes and health
# probes, next to the NativeAOT floor of its stack, in interleaved rounds (docs/benchmarks/identity.md, "Agent memory"):
#   tests/Sidecars.Identity.Benchmarks/scrape-memory.sh [scrapes, default 1000] [rounds, default 3] [--variants "name:VAR=value,...;..."]
# Publishes the agent and the floor with NativeAOT (needs clang); loopback only, the cluster agent runs in the benchmark.
set -euo pipefail
scrapes="${1:-1000}"
rounds="${2:-3}"
shift 2 || shift $# || true
exec "$(dirname "$0")/run.sh" 5 --memory "$rounds" --scrapes "$scrapes" "$@"
