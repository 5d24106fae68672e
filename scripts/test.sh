#!/usr/bin/env bash
# Runs every test of the suite: unit, integration (real redis-server per test), end-to-end
# (the real service binaries, the fault suite) and the deploy checks, then the libFuzzer
# targets (a fixed seed and number of runs, about 20 s each; FUZZ_SECONDS=0 skips them,
# FUZZ_SECONDS=N explores N random-seeded seconds each instead). Installs and builds what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --timeout 600 -j"$(nproc)")
if [ "${FUZZ_SECONDS:-}" != "0" ]; then
  scripts/fuzz.sh
fi
