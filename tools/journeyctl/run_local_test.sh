#!/usr/bin/env bash
# End to end, as a new user sees it: scripts/run-local.sh on the built binaries, without a
# terminal (CI=true), must finish within two minutes and show a funnel, pain points naming
# the simulator's planted friction, a journey map file and recommendations that differ by
# stage. Exit 77 (CTest: skipped) while a service is still a placeholder.
set -uo pipefail
BUILD=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mktemp -d /tmp/run-local-test-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
LOG=$OUT/run-local.log

started=$SECONDS
CI=true SKIP_BUILD=1 BUILD_DIR="$BUILD" MAP_HTML="$OUT/journey-map.html" SIM_CUSTOMERS=${SIM_CUSTOMERS:-3000} \
  "$ROOT/scripts/run-local.sh" </dev/null >"$LOG" 2>&1
rc=$?
elapsed=$((SECONDS - started))

# While the suite is still being assembled, a service may be the skeleton's placeholder: it
# answers UNIMPLEMENTED, or does not know the flags run-local.sh passes.
if grep -q "does not offer this call yet\|Unknown command line flag" "$LOG"; then
  echo "SKIPPED: a service does not implement its API yet:"
  grep "does not offer this call yet\|Unknown command line flag" "$LOG" | head -3
  exit 77
fi
fail() {
  echo "FAIL: $*"
  echo "---- run-local.sh output ----"
  cat "$LOG"
  exit 1
}
[ "$rc" -eq 0 ] || fail "run-local.sh exited $rc"
[ "$elapsed" -le 120 ] || fail "run-local.sh took ${elapsed}s, more than two minutes"
grep -Eq '^AWARENESS +[0-9,]+ +- +100\.0%' "$LOG" || fail "no funnel printed"
grep -Eq '^1 +DECISION / Checkout Step Viewed \(web\)' "$LOG" ||
  fail "the planted friction (DECISION / Checkout Step Viewed (web)) is not the first pain point"
grep -q 'Top pain point: .*Checkout Step Viewed (web)' "$LOG" || fail "the top pain point does not name the friction"
[ -s "$OUT/journey-map.html" ] || fail "no journey map written"
for stage in AWARENESS CONSIDERATION DECISION PURCHASE POST_PURCHASE LOYALTY; do
  grep -q "class=\"stage-node\" data-stage=\"$stage\"" "$OUT/journey-map.html" || fail "the map lacks the $stage column"
done
grep -q 'Checkout Step Viewed' "$OUT/journey-map.html" || fail "the map does not show the friction"
stages=$(grep -A1 '^== Recommendations for' "$LOG" | awk '$1 == "stage" { print $2 }' | sort -u | wc -l)
[ "$stages" -ge 3 ] || fail "recommendations were shown for $stages distinct stages, not 3"
echo "run-local.sh: ${elapsed}s; funnel, friction as top pain point, map, recommendations for $stages stages"
echo "1 passed, 0 failed"
