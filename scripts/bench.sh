#!/usr/bin/env bash
# Runs the benchmarks behind the README's Figures table, one after the other, on the built
# binaries, and writes their JSON lines (plus the machine, the load average before each and
# the exact command) to bench-results.jsonl (logs to bench-results.jsonl.log). Run it on a quiet machine: the load generators
# share the cores with the services and Redis. BUILD_DIR (default build/), OUT (default
# bench-results.jsonl); ONLY=name1,name2 runs a subset (ingest,e2e,journey,persona,recommend,
# triggers).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
OUT=${OUT:-$ROOT/bench-results.jsonl}
ONLY=${ONLY:-ingest,e2e,journey,persona,recommend,triggers}
: >"$OUT"
: >"$OUT.log"

# The CPU model and L3 size too: VMs of the same size have differed by 3x in speed between days.
cpu=$(lscpu | awk -F': *' '/^Model name/ {m=$2} /^L3 cache/ {c=$2} END {print m ", L3 " c}')
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $cpu, $(uname -r)"
run() {
  local name=$1
  shift
  [[ ",$ONLY," == *",$name,"* ]] || return 0
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "== $name: $* (load $load)" >&2
  printf '{"bench_run":"%s","command":"%s","machine":"%s","load_before":%s,"at":"%s"}\n' \
    "$name" "$*" "$machine" "$load" "$(date -u +%FT%TZ)" >>"$OUT"
  # The benches print their figures on stdout; their services' logs (stderr) go to a file.
  "$@" 2>>"$OUT.log" | tee -a "$OUT"
}

cd "$ROOT"
run ingest "$BUILD/bench/ingest_load_bench" --seconds=6
run e2e "$BUILD/bench/e2e_lag_bench" --rate=10000 --batch=100 --seconds=10
run journey "$BUILD/bench/journey_bench" 200000 20000 2
run persona "$BUILD/bench/persona_bench" --events=100000 --users=5000
run recommend "$BUILD/bench/recommend_bench" --rate=5000 --seconds=5
run triggers "$BUILD/bench/trigger_latency_bench" 10000 10 20000 1
echo "results: $OUT" >&2
