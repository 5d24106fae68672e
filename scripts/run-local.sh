#!/usr/bin/env bash
# Runs the whole suite locally: installs what is missing, builds, starts a private
# redis-server and the four services on free ports, walks a sample customer from first
# visit to repeat purchase and prints the stage and recommendations after each step.
# Interactive: keeps running until Ctrl-C. Non-interactive (CI): stops after the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
scripts/build.sh
BUILD=${BUILD_DIR:-build}
RUN_DIR=$(mktemp -d /tmp/journey-run-XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT INT TERM

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN_DIR" --save "" --appendonly yes \
  --appendfsync everysec --daemonize no --logfile "$RUN_DIR/redis.log" &
PIDS+=($!)
export JOURNEY_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

declare -A PORT
for svc in ingest journey persona recommend; do
  PORT[$svc]=$(free_port)
  extra=()
  if [ "$svc" = ingest ]; then HTTP_PORT=$(free_port); extra+=(--http_port="$HTTP_PORT"); fi
  "$BUILD/services/$svc/journey-$svc" --grpc_port="${PORT[$svc]}" --metrics_port="$(free_port)" \
    --config_dir="$ROOT/config" "${extra[@]}" >"$RUN_DIR/$svc.log" 2>&1 &
  PIDS+=($!)
done

export JOURNEY_INGEST_ADDR=127.0.0.1:${PORT[ingest]} JOURNEY_JOURNEY_ADDR=127.0.0.1:${PORT[journey]} \
  JOURNEY_PERSONA_ADDR=127.0.0.1:${PORT[persona]} JOURNEY_RECOMMEND_ADDR=127.0.0.1:${PORT[recommend]}
CTL="$BUILD/tools/journeyctl/journeyctl"
if ! "$CTL" health --wait_s 30; then
  echo "services did not become ready; logs in $RUN_DIR:" >&2
  tail -n 5 "$RUN_DIR"/*.log >&2
  exit 1
fi
echo
"$CTL" demo

cat <<INFO

The suite is running:
  redis      127.0.0.1:$REDIS_PORT
  ingest     $JOURNEY_INGEST_ADDR (gRPC)   127.0.0.1:$HTTP_PORT (Segment HTTP API)
  journey    $JOURNEY_JOURNEY_ADDR
  persona    $JOURNEY_PERSONA_ADDR
  recommend  $JOURNEY_RECOMMEND_ADDR
In another shell:  export JOURNEY_INGEST_ADDR=$JOURNEY_INGEST_ADDR JOURNEY_JOURNEY_ADDR=$JOURNEY_JOURNEY_ADDR JOURNEY_PERSONA_ADDR=$JOURNEY_PERSONA_ADDR JOURNEY_RECOMMEND_ADDR=$JOURNEY_RECOMMEND_ADDR
                   $CTL --help
INFO
if [ -t 0 ] && [ "${CI:-}" != "true" ]; then
  echo "Press Ctrl-C to stop."
  wait
fi
