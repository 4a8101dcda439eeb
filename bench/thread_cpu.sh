#!/usr/bin/env bash
# CPU per transaction of each pooler's relay threads (pgloom's carriers, PgBouncer's one thread:
# the threads whose name matches THREADS), user and system apart, with its voluntary and involuntary context switches: steadier than the
# whole process's CPU when comparing two builds' user time, which is where they differ.
#
# Needs poolers already running, e.g. those of `AFTER_START='sleep 7000' BASE_REV=REV bash bench/run.sh`
# (pgloom 26432, its base 28432, PgBouncer 27432; user and password bench, database bench).
#
#   bench/thread_cpu.sh SECONDS ROUNDS NAME:PORT... -- PGBENCH_ARGS...
#   bench/thread_cpu.sh 8 12 new:26432 base:28432 pgbouncer:27432 -- -S -M extended -c 10
#
# Each round runs `pgbench -T SECONDS -j 2 PGBENCH_ARGS` once against every target, the order
# rotating between rounds; prints one line per run and the medians at the end.
set -euo pipefail
secs=$1 rounds=$2
shift 2
targets=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do targets+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#targets[@]} -gt 0 ] || { echo "usage: $0 SECONDS ROUNDS NAME:PORT... -- PGBENCH_ARGS..." >&2; exit 2; }
hz=$(getconf CLK_TCK)

pid_on() { ss -ltnpH "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
THREADS=${THREADS:-^(pgloom-carrier|pgbouncer)}
sample() { # user sys voluntary involuntary, summed over the threads of process $1 named like THREADS
  local t u=0 s=0 v=0 i=0 a b c d
  for t in /proc/$1/task/*; do
    grep -Eq "$THREADS" "$t/comm" || continue
    read -r a b < <(sed 's/.*) //' "$t/stat" | awk '{print $12, $13}')
    read -r c d < <(awk '/^voluntary_ctxt/ {v=$2} /^nonvoluntary_ctxt/ {n=$2} END {print v, n}' "$t/status")
    u=$((u + a)) s=$((s + b)) v=$((v + c)) i=$((i + d))
  done
  echo "$u $s $v $i"
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
n=${#targets[@]}
for ((r = 0; r < rounds; r++)); do
  for ((k = 0; k < n; k++)); do
    t=${targets[$(((r + k) % n))]}
    name=${t%%:*} port=${t##*:}
    pid=$(pid_on "$port")
    [ -n "$pid" ] || { echo "nothing listens on $port ($name)" >&2; exit 1; }
    read -r u0 s0 v0 i0 < <(sample "$pid")
    res=$(PGPASSWORD=bench pgbench -h 127.0.0.1 -p "$port" -U bench -T "$secs" -j 2 "$@" bench 2>&1)
    read -r u1 s1 v1 i1 < <(sample "$pid")
    tx=$(echo "$res" | awk '/number of transactions actually processed/ {print $NF}' | cut -d/ -f1)
    tps=$(echo "$res" | awk '/^tps/ {print int($3)}')
    awk -v n="$name" -v tps="$tps" -v tx="$tx" -v hz="$hz" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v v=$((v1 - v0)) -v i=$((i1 - i0)) \
      'BEGIN {printf "%-10s tps %6d user %6.2f sys %6.2f us/tx vcs %.3f ivcs %.3f /tx\n", n, tps, u * 1e6 / hz / tx, s * 1e6 / hz / tx, v / tx, i / tx}' | tee -a "$out"
  done
done
echo "medians over $rounds rounds:"
python3 - "$out" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    runs[f[0]].append((float(f[2]), float(f[4]), float(f[6])))
for name, rs in runs.items():
    med = lambda i: statistics.median(r[i] for r in rs)
    print("%-10s tps %6.0f user %5.2f sys %6.2f total %6.2f us/tx" % (name, med(0), med(1), med(2), statistics.median(r[1] + r[2] for r in rs)))
EOF
