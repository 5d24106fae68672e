#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan into build-fuzz/ (or
# $FUZZ_BUILD_DIR) and runs each from its seed corpus in fuzz/corpus/<target>/. New inputs go
# to a scratch dir, never into the repo; a crash leaves its input in build-fuzz/artifacts/ and
# fails the script. scripts/test.sh calls it.
#
# Two modes:
# - default (what scripts/test.sh and CI run): a fixed seed and a fixed number of runs per
#   target (about 20 s each here), so a pass on this machine is a pass in CI: the same inputs
#   are tried every time. A crash found by exploration is a bug to fix, and its input goes
#   into fuzz/corpus/<target>/ so every later run replays it.
# - FUZZ_SECONDS=N: N seconds per target with a random seed, to look for new crashes.
#   scripts/fuzz.sh                                   # every target, deterministic
#   FUZZ_SECONDS=600 scripts/fuzz.sh segment_json_fuzzer
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-}
# Runs per target in the deterministic mode: about 20 s each on the 2-core dev VM.
declare -A RUNS=([segment_json_fuzzer]=200000 [event_fuzzer]=500000 [segment_condition_fuzzer]=20000)
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then TARGETS=(segment_json_fuzzer event_fuzzer segment_condition_fuzzer); fi

CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DJOURNEY_BUILD_FUZZ=ON >/dev/null
ninja -C "$BUILD_DIR" -j"$(nproc)" "${TARGETS[@]}"

mkdir -p "$BUILD_DIR/artifacts"
scratch=$(mktemp -d /tmp/journey-fuzz-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
for t in "${TARGETS[@]}"; do
  mkdir -p "$scratch/$t"
  if [ -n "$SECONDS_EACH" ]; then
    budget=(-max_total_time="$SECONDS_EACH")
    echo "fuzzing $t for ${SECONDS_EACH}s, random seed" >&2
  else
    # The time bound is only a safety net on a much slower machine; runs end it first.
    budget=(-seed=1 -runs="${RUNS[$t]:-100000}" -max_total_time=300)
    echo "fuzzing $t: ${RUNS[$t]:-100000} runs, seed 1" >&2
  fi
  if ! UBSAN_OPTIONS=print_stacktrace=1 \
      "$BUILD_DIR/fuzz/$t" "$scratch/$t" "fuzz/corpus/$t" "${budget[@]}" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$BUILD_DIR/artifacts/$t-" \
      >"$BUILD_DIR/artifacts/$t.log" 2>&1; then
    tail -60 "$BUILD_DIR/artifacts/$t.log" >&2
    echo "FAIL: $t found a crash; input in $BUILD_DIR/artifacts/" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|cov:" "$BUILD_DIR/artifacts/$t.log" | tail -2 >&2
done
echo "fuzz ok: ${TARGETS[*]} (${SECONDS_EACH:+${SECONDS_EACH}s each, random seed}${SECONDS_EACH:-fixed runs, seed 1})" >&2
