#!/usr/bin/env bash
# End to end, as a new user sees it: scripts/run-local.sh on the built binaries, without a
# terminal (CI=true), must finish within two minutes and show a funnel, pain points naming
# the simulator's planted friction, a journey map file, recommendations that differ by
# stage, exactly one verified webhook call with the recovery offer for the abandoned cart,
# and the A/B experiment's and the holdout's results with exposures, conversions and an
# interval. Exit 77 (CTest: skipped) while a service is still a placeholder.
set -uo pipefail
BUILD=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mktemp -d /tmp/run-local-test-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
LOG=$OUT/run-local.log

started=$SECONDS
CI=true SKIP_BUILD=1 BUILD_DIR="$BUILD" MAP_HTML="$OUT/journey-map.html" WEBHOOK_LOG="$OUT/webhook.jsonl" \
  SIM_CUSTOMERS=${SIM_CUSTOMERS:-3000} \
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
# The friction must be the first touchpoint of the ranking and in its top two: only the rest
# of its own stage (losses spread over DECISION's other touchpoints, how many depends on the
# hour the 24 h timers see) may rank above it, as the summary line below then says.
first_touchpoint=$(awk '/^Top pain points:/ { on = 1; next } on && /^[0-9]+ / && $0 ~ / \/ / { print; exit }' "$LOG")
echo "$first_touchpoint" | grep -Eq '^[12] +DECISION / Checkout Step Viewed \(web\)' ||
  fail "the planted friction (DECISION / Checkout Step Viewed (web)) is not the first touchpoint among the top two pain points"
grep -q 'Top pain point: .*Checkout Step Viewed (web)' "$LOG" || fail "the top pain point does not name the friction"
[ -s "$OUT/journey-map.html" ] || fail "no journey map written"
for stage in AWARENESS CONSIDERATION DECISION PURCHASE POST_PURCHASE LOYALTY; do
  grep -q "class=\"stage-node\" data-stage=\"$stage\"" "$OUT/journey-map.html" || fail "the map lacks the $stage column"
done
grep -q 'Checkout Step Viewed' "$OUT/journey-map.html" || fail "the map does not show the friction"
stages=$(grep -A1 '^== Recommendations for' "$LOG" | awk '$1 == "stage" { print $2 }' | sort -u | wc -l)
[ "$stages" -ge 3 ] || fail "recommendations were shown for $stages distinct stages, not 3"

# The abandoned cart: one call for that customer in everything the sink received during the
# whole run (a duplicate would have arrived by the end), signed, carrying the recovery offer.
cart_user=$(sed -n 's/^Customer \(cart-customer-[^:]*\): outside the holdout.*/\1/p' "$LOG")
[ -n "$cart_user" ] || fail "no abandoned-cart customer shown"
grep -q '^journey: DECISION abandoned at ' "$LOG" || fail "the cart was not shown abandoned"
grep -A1 '^webhook call (signature verified):' "$LOG" | grep -q '"offer_id":"cart-recovery-10"' ||
  fail "no verified webhook call with the recovery offer shown"
calls=$(grep -c "\"user_id\":\"$cart_user\"" "$OUT/webhook.jsonl")
[ "$calls" -eq 1 ] || fail "$calls webhook calls for $cart_user, not exactly one"
grep "\"user_id\":\"$cart_user\"" "$OUT/webhook.jsonl" | grep -q '"verified":true' || fail "the call's signature did not verify"

# Experiments: exposures and conversions in both arms, an uplift with its interval.
results() { awk -v title="$1" 'index($0, title) { on = 1; next } /^== / { on = 0 } on' "$LOG"; }
for pair in "product-ranking:control:popularity" "holdout:holdout:personalized"; do
  IFS=: read -r id control variant <<<"$pair"
  section=$(results "== The $( [ "$id" = holdout ] && echo holdout || echo "A/B experiment $id")")
  echo "$section" | grep -Eq "^$control +[1-9][0-9,]* +[1-9][0-9,]* " || fail "$id: no exposures and conversions for $control"
  echo "$section" | grep -Eq "^$variant +[1-9][0-9,]* +[1-9][0-9,]* .* pts  \[[-+][0-9.]+, [-+][0-9.]+\]" ||
    fail "$id: no uplift with a 95% interval for $variant"
done
echo "run-local.sh: ${elapsed}s; funnel, friction as top pain point, map, recommendations for $stages stages," \
  "one verified webhook call for the abandoned cart, experiment and holdout results"
echo "1 passed, 0 failed"
