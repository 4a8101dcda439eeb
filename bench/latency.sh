#!/usr/bin/env bash
# Latency at many clients: pgbench -S -c 1000 through pgloom and PgBouncer, interleaved, with
# per-transaction logs; prints p50, p99 and p99.9 per target and round. Run it as run.sh's
# AFTER_START hook, which starts PostgreSQL and both poolers with the same settings:
#   AFTER_START='bash bench/latency.sh' SCENARIOS= IDLE_CLIENTS=0 bash bench/run.sh
# Environment (set by run.sh): PGLOOM_PORT, PGBOUNCER_PORT, RUN_DIR. LAT_ROUNDS, LAT_CLIENTS,
# LAT_DURATION tune it.
set -euo pipefail
rounds=${LAT_ROUNDS:-3}
clients=${LAT_CLIENTS:-1000}
duration=${LAT_DURATION:-15}
out=$RUN_DIR/latency
mkdir -p "$out"
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
for r in $(seq 1 "$rounds"); do
  for t in pgloom pgbouncer; do
    port=$([ "$t" = pgloom ] && echo "$PGLOOM_PORT" || echo "$PGBOUNCER_PORT")
    prefix=$out/$t-r$r
    # -l writes one line per transaction: client, tx number, latency in microseconds, ...
    PGPASSWORD=bench pgbench -h 127.0.0.1 -p "$port" -U bench -S -c "$clients" -j 2 -T "$duration" \
      -l --log-prefix="$prefix" bench >"$prefix.out" 2>&1 || echo "latency: pgbench through $t failed, see $prefix.out" >&2
    echo "latency: round $r $t done" >&2
  done
done
python3 - "$out" "$rounds" <<'PY'
import glob, os, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def pct(v, p):
    return v[min(len(v) - 1, int(len(v) * p))]
print(f"| target | round | transactions | tps | p50 ms | p99 ms | p99.9 ms |")
print("|---|---|---|---|---|---|---|")
for r in range(1, rounds + 1):
    for t in ("pgloom", "pgbouncer"):
        lat = []
        for f in glob.glob(f"{out}/{t}-r{r}.*"):
            if f.endswith(".out"):
                continue
            with open(f) as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) >= 3:
                        lat.append(int(parts[2]))
        tps = "?"
        try:
            for line in open(f"{out}/{t}-r{r}.out"):
                if line.startswith("tps ="):
                    tps = f"{float(line.split()[2]):.0f}"
        except OSError:
            pass
        if not lat:
            print(f"| {t} | {r} | 0 | {tps} | - | - | - |")
            continue
        lat.sort()
        print(f"| {t} | {r} | {len(lat)} | {tps} | {pct(lat, .5)/1000:.2f} | {pct(lat, .99)/1000:.2f} | {pct(lat, .999)/1000:.2f} |")
PY
