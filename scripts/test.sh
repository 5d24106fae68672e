#!/usr/bin/env bash
# Runs every test of the suite: unit, integration (real redis-server per test), end-to-end
# (the real service binaries) and the deploy checks. Installs and builds what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 -j"$(nproc)"
