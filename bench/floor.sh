#!/usr/bin/env bash
# The I/O floor next to pgloom and PgBouncer: compiles ../shared/experiments/io-floor/LoopRelay.java
# (a bare 1:1 relay on its own carriers), starts it against the run's PostgreSQL, and runs
# pgbench -S -c 10 through the relay, pgloom and PgBouncer, interleaved, printing tps and each
# process's CPU per transaction (user+system from /proc). Run it as run.sh's AFTER_START hook:
#   AFTER_START='bash bench/floor.sh' TARGETS="pgloom pgbouncer" SCENARIOS=a IDLE_CLIENTS=0 bash bench/run.sh
# Environment (set by run.sh): PG_PORT, PGLOOM_PORT, PGBOUNCER_PORT, RUN_DIR. FLOOR_ROUNDS,
# FLOOR_DURATION and FLOOR_PORT tune it.
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
root=$(cd "$here/.." && pwd)
src=$root/../shared/experiments/io-floor/LoopRelay.java
[ -f "$src" ] || { echo "floor: $src not found" >&2; exit 1; }
java_home=$("$root/bin/find-jdk25")
rounds=${FLOOR_ROUNDS:-3}
duration=${FLOOR_DURATION:-10}
relay_port=${FLOOR_PORT:-7703}
classes=$RUN_DIR/floor-classes
mkdir -p "$classes"
"$java_home/bin/javac" -d "$classes" "$src"
"$java_home/bin/java" --add-opens java.base/java.lang=ALL-UNNAMED -cp "$classes" LoopRelay "$relay_port" "$PG_PORT" 2 \
  >"$RUN_DIR/floor-relay.log" 2>&1 &
relay=$!
trap 'kill $relay 2>/dev/null || true' EXIT
sleep 2
java_pid() { pgrep -f "$1" | while read -r p; do grep -q java "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done | head -1; }
pgloom=$(java_pid "$RUN_DIR/pgloom.ini")
pgbouncer=$(pgrep -f "$RUN_DIR/pgbouncer.ini" | while read -r p; do case $(cat "/proc/$p/comm") in pgbouncer*) echo "$p" ;; esac; done | head -1)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for port in "$relay_port" "$PGLOOM_PORT" "$PGBOUNCER_PORT"; do
  PGPASSWORD=bench pgbench -h 127.0.0.1 -p "$port" -U bench -S -c 10 -j 2 -T 5 bench >/dev/null 2>&1 || true
done
tck=$(getconf CLK_TCK)
echo "| round | target | tps | CPU µs/tx |"
echo "|---|---|---:|---:|"
for r in $(seq 1 "$rounds"); do
  for t in relay pgloom pgbouncer; do
    case $t in
      relay) port=$relay_port pid=$relay ;;
      pgloom) port=$PGLOOM_PORT pid=$pgloom ;;
      pgbouncer) port=$PGBOUNCER_PORT pid=$pgbouncer ;;
    esac
    c0=$(cpu_ticks "$pid")
    out=$(PGPASSWORD=bench pgbench -h 127.0.0.1 -p "$port" -U bench -S -c 10 -j 2 -T "$duration" bench 2>&1 || true)
    c1=$(cpu_ticks "$pid")
    tx=$(echo "$out" | awk '/number of transactions actually processed/ {print $NF}' | cut -d/ -f1)
    tps=$(echo "$out" | awk '/^tps =/ {print int($3)}')
    echo "| $r | $t | ${tps:-?} | $(python3 -c "print(round(($c1 - $c0) * 1e6 / $tck / max(1, int('${tx:-0}')), 1))") |"
  done
done
