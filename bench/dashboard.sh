#!/usr/bin/env bash
# Draws deploy/grafana/pgloom.png: the panels of deploy/grafana/pgloom.json over a real run, since
# Grafana cannot run here. bench/run.sh starts PostgreSQL and pgloom (with a metrics port) and runs
# this script again with --load inside; that puts pgbench through pgloom at a few load levels while
# bench/dashboard/DashboardSnapshot.java scrapes /metrics every second and draws the PNG.
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
root=$(cd "$here/.." && pwd)
METRICS_PORT=${METRICS_PORT:-26433}
OUT=${OUT:-$root/deploy/grafana/pgloom.png}

if [ "${1:-}" != --load ]; then
  # Pool size 20 (run.sh's ini); idle servers close after 8 s and live at most 30 s, so the
  # "closed by reason" panel has something to show.
  export METRICS_PORT OUT
  TARGETS=pgloom SCENARIOS=d IDLE_CLIENTS=0 WARMUP=0 \
    PGLOOM_INI_EXTRA=$'metrics_listen_port = '"$METRICS_PORT"$'\nserver_idle_timeout = 8\nserver_lifetime = 30' \
    AFTER_START="$here/dashboard.sh --load" exec "$here/run.sh"
fi

# ---------------------------------------------------------------- inside run.sh (PGLOOM_PORT, RUN_DIR set)

say() { echo "dashboard: $*" >&2; }
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

java=$("$root/bin/find-jdk25")/bin/java
"$java" -Djava.awt.headless=true "$here/dashboard/DashboardSnapshot.java" \
  --url "http://127.0.0.1:$METRICS_PORT/metrics" --seconds 80 --save "$RUN_DIR/scrapes.txt" \
  --dashboard "$root/deploy/grafana/pgloom.json" --out "$OUT" --var database=bench \
  --subtitle "pool size 20; pgbench -S -c 8, then TPC-B -c 16, then TPC-B -c 60 (clients wait), then idle" &
snap=$!
pids+=("$snap")

load() { # seconds pgbench-options...
  local secs=$1
  shift
  say "pgbench $* for ${secs}s"
  PGPASSWORD=bench pgbench -h 127.0.0.1 -p "$PGLOOM_PORT" -U bench -T "$secs" "$@" bench >>"$RUN_DIR/pgbench-dashboard.log" 2>&1 &
  pids+=("$!")
  wait "$!" || say "pgbench $* exited with $?"
}

refuse() { # a few refused logins: a wrong password and an unknown database
  PGPASSWORD=wrong psql -h 127.0.0.1 -p "$PGLOOM_PORT" -U bench -d bench -c 'select 1' >/dev/null 2>&1 || true
  PGPASSWORD=bench psql -h 127.0.0.1 -p "$PGLOOM_PORT" -U bench -d nosuchdb -c 'select 1' >/dev/null 2>&1 || true
}

sleep 5
load 15 -S -c 8 -j 2
refuse
load 15 -c 16 -j 2
(for i in 1 2 3; do sleep 5; refuse; done) &
pids+=("$!")
load 20 -c 60 -j 2
say "idle until the snapshot ends"
wait "$snap"
say "wrote $OUT (scrapes in $RUN_DIR/scrapes.txt)"
