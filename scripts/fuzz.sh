#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan into build-fuzz/ (or
# $FUZZ_BUILD_DIR) and runs each for FUZZ_SECONDS (default 20) from its seed corpus in
# fuzz/corpus/<target>/. New inputs go to a scratch dir, never into the repo; a crash leaves
# its input in build-fuzz/artifacts/ and fails the script. scripts/test.sh calls it.
#   scripts/fuzz.sh                    # every target, 20 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh segment_json_fuzzer
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-20}
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
  echo "fuzzing $t for ${SECONDS_EACH}s" >&2
  if ! UBSAN_OPTIONS=print_stacktrace=1 \
      "$BUILD_DIR/fuzz/$t" "$scratch/$t" "fuzz/corpus/$t" -max_total_time="$SECONDS_EACH" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$BUILD_DIR/artifacts/$t-" \
      >"$BUILD_DIR/artifacts/$t.log" 2>&1; then
    tail -60 "$BUILD_DIR/artifacts/$t.log" >&2
    echo "FAIL: $t found a crash; input in $BUILD_DIR/artifacts/" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|cov:" "$BUILD_DIR/artifacts/$t.log" | tail -2 >&2
done
echo "fuzz ok: ${TARGETS[*]} (${SECONDS_EACH}s each)" >&2
