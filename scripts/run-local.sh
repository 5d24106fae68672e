#!/usr/bin/env bash
# Runs the whole suite locally: installs what is missing, builds, starts a private
# redis-server, a webhook receiver (tools/webhook_sink) and the four services on free ports,
# walks a sample customer from first visit to repeat purchase, shows an abandoned cart
# producing one signed webhook call with the recovery offer, then simulates a few thousand
# customers (journeyctl simulate, and their live visits reporting clicks and orders), prints
# the funnel and the top pain points, writes the journey map HTML, shows what three
# customers in different stages are recommended and the A/B experiment's uplift with its
# 95% interval.
# Interactive: keeps running until Ctrl-C. Non-interactive (CI=true or no terminal): stops
# after the walk-through, reading nothing from stdin.
#
# Environment: SIM_CUSTOMERS (3000), SIM_DAYS (14), SIM_SEED (42), SIM_SHOPPERS (live
# visits, default SIM_CUSTOMERS), MAP_HTML (where the map goes, default
# <build>/journey-map.html), WEBHOOK_LOG (the webhook calls received, one JSON line each,
# default in the run's temporary directory), SKIP_BUILD=1 (use an existing build),
# CONFIG_DIR (definitions, default config/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
if [ "${SKIP_BUILD:-}" != "1" ]; then scripts/build.sh; fi
BUILD=$(cd "${BUILD_DIR:-build}" && pwd)
CONFIG_DIR=${CONFIG_DIR:-$ROOT/config}
SIM_CUSTOMERS=${SIM_CUSTOMERS:-3000}
SIM_DAYS=${SIM_DAYS:-14}
SIM_SEED=${SIM_SEED:-42}
SIM_SHOPPERS=${SIM_SHOPPERS:-$SIM_CUSTOMERS}
MAP_HTML=${MAP_HTML:-$BUILD/journey-map.html}
RUN_DIR=$(mktemp -d /tmp/journey-run-XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
STARTED=$SECONDS

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT INT TERM

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN_DIR" --save "" --appendonly yes \
  --appendfsync everysec --daemonize no --logfile "$RUN_DIR/redis.log" </dev/null &
PIDS+=($!)
export JOURNEY_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
# Authentication stays on: each service inserts this run's admin key (hashed) at start and
# journeyctl sends it. JOURNEY_AUTH=off in the environment turns checks off (logged).
JOURNEY_BOOTSTRAP_ADMIN_KEY=${JOURNEY_BOOTSTRAP_ADMIN_KEY:-jk_local_$(python3 -c 'import secrets; print(secrets.token_hex(24))')}
export JOURNEY_BOOTSTRAP_ADMIN_KEY JOURNEY_API_KEY=$JOURNEY_BOOTSTRAP_ADMIN_KEY

# The webhook receiver: journey POSTs triggered actions to it, signed with this run's secret.
WEBHOOK_LOG=${WEBHOOK_LOG:-$RUN_DIR/webhook.jsonl}
WEBHOOK_PORT=$(free_port)
openssl rand -hex 24 >"$RUN_DIR/webhook.secret"
"$BUILD/tools/webhook_sink/webhook_sink" --port="$WEBHOOK_PORT" --secret_file="$RUN_DIR/webhook.secret" \
  >"$WEBHOOK_LOG" 2>"$RUN_DIR/webhook_sink.log" </dev/null &
PIDS+=($!)

declare -A PORT
for svc in ingest journey persona recommend; do
  PORT[$svc]=$(free_port)
  extra=()
  if [ "$svc" = ingest ]; then HTTP_PORT=$(free_port); extra+=(--http_port="$HTTP_PORT"); fi
  if [ "$svc" = journey ]; then
    extra+=(--action_webhook_url="http://127.0.0.1:$WEBHOOK_PORT/actions"
      --action_webhook_secret_file="$RUN_DIR/webhook.secret")
  fi
  "$BUILD/services/$svc/journey-$svc" --grpc_port="${PORT[$svc]}" --metrics_port="$(free_port)" \
    --config_dir="$CONFIG_DIR" "${extra[@]}" >"$RUN_DIR/$svc.log" 2>&1 </dev/null &
  PIDS+=($!)
done

export JOURNEY_INGEST_ADDR=127.0.0.1:${PORT[ingest]} JOURNEY_JOURNEY_ADDR=127.0.0.1:${PORT[journey]} \
  JOURNEY_PERSONA_ADDR=127.0.0.1:${PORT[persona]} JOURNEY_RECOMMEND_ADDR=127.0.0.1:${PORT[recommend]}
CTL="$BUILD/tools/journeyctl/journeyctl"
if ! "$CTL" health --wait_s 30 </dev/null; then
  echo "services did not become ready; logs in $RUN_DIR:" >&2
  tail -n 5 "$RUN_DIR"/*.log >&2
  exit 1
fi

FAILED=()
step() {  # step "title" command...: runs one part of the walk-through; a failure is reported, the rest goes on
  local title=$1
  shift
  printf '\n== %s ==\n' "$title"
  if ! "$@" </dev/null; then
    echo "(failed: $title)" >&2
    FAILED+=("$title")
  fi
}

step "API keys (this run's bootstrap admin key; create scoped ones with journeyctl keys create)" "$CTL" keys list
step "A sample customer, step by step" "$CTL" demo
step "An abandoned cart: the inactivity timer, the cart-recovery trigger and its signed webhook call" \
  "$CTL" abandoned-cart --webhook_log "$WEBHOOK_LOG"
step "Simulating $SIM_CUSTOMERS customers over $SIM_DAYS days (seed $SIM_SEED), then $SIM_SHOPPERS live visits" \
  "$CTL" simulate --customers "$SIM_CUSTOMERS" --days "$SIM_DAYS" --seed "$SIM_SEED" \
  --samples_file "$RUN_DIR/samples.txt" --wait_s 30 --shoppers "$SIM_SHOPPERS"
step "Funnel, stages and top pain points (last $((SIM_DAYS + 1)) days)" "$CTL" map \
  --from "-$((SIM_DAYS + 1))d" --to "+1h" --html "$MAP_HTML" --top 5

if [ -s "$RUN_DIR/samples.txt" ]; then
  shown=0
  for stage in CONSIDERATION DECISION LOYALTY POST_PURCHASE PURCHASE AWARENESS; do
    user=$(awk -v s="$stage" '$1 == s { print $2 }' "$RUN_DIR/samples.txt")
    [ -n "$user" ] || continue
    step "Recommendations for $user (simulated to reach $stage)" "$CTL" recommend "$user" --placement home --limit 3
    shown=$((shown + 1))
    [ "$shown" -lt 3 ] || break
  done
fi

step "The A/B experiment product-ranking (config/experiments/default.yaml): uplift with its 95% interval" \
  "$CTL" experiments results product-ranking
step "The holdout (5% of customers, the non-personalized baseline) against everyone else" \
  "$CTL" experiments results holdout
step "Triggered actions so far: sent, deferred, suppressed and why, delivered" "$CTL" triggers stats

cat <<INFO

The journey map: $MAP_HTML
  open it in a browser: file://$MAP_HTML
The walk-through took $((SECONDS - STARTED)) s after the build.

The suite is running:
  redis      127.0.0.1:$REDIS_PORT
  ingest     $JOURNEY_INGEST_ADDR (gRPC)   127.0.0.1:$HTTP_PORT (Segment HTTP API)
  journey    $JOURNEY_JOURNEY_ADDR
  persona    $JOURNEY_PERSONA_ADDR
  recommend  $JOURNEY_RECOMMEND_ADDR
  webhook    http://127.0.0.1:$WEBHOOK_PORT/actions (calls received: $WEBHOOK_LOG)
In another shell:  export JOURNEY_INGEST_ADDR=$JOURNEY_INGEST_ADDR JOURNEY_JOURNEY_ADDR=$JOURNEY_JOURNEY_ADDR JOURNEY_PERSONA_ADDR=$JOURNEY_PERSONA_ADDR JOURNEY_RECOMMEND_ADDR=$JOURNEY_RECOMMEND_ADDR
                   export JOURNEY_API_KEY=$JOURNEY_API_KEY   # this run's admin key
                   $CTL --help
INFO
if [ ${#FAILED[@]} -gt 0 ]; then
  printf 'Steps that failed: %s\n' "${FAILED[*]}" >&2
fi
if [ -t 0 ] && [ "${CI:-}" != "true" ]; then
  echo "Press Ctrl-C to stop."
  wait
fi
[ ${#FAILED[@]} -eq 0 ]
