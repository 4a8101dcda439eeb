#!/usr/bin/env bash
# pgloom vs PgBouncer vs direct PostgreSQL: pgbench throughput and RSS at many idle clients.
# See bench/README.md. Everything runs on 127.0.0.1; every process started here is stopped on exit.
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
root=$(cd "$here/.." && pwd)

DURATION=${DURATION:-10}          # seconds per pgbench run
ROUNDS=${ROUNDS:-3}               # interleaved rounds; the table shows the median
WARMUP=${WARMUP:-5}               # seconds of unmeasured pgbench per scenario and target before round 1 (0: none)
SCENARIOS=${SCENARIOS-a b c d e f g h i j}  # subset of a..j; empty: no pgbench runs (RSS only)
TARGETS=${TARGETS:-direct pgloom pgbouncer}
IDLE_CLIENTS=${IDLE_CLIENTS:-10000}   # 0: skip the idle-client RSS test
IDLE_PARALLEL=${IDLE_PARALLEL:-200}   # logins in flight at once in the idle client
IDLE_TIMEOUT=${IDLE_TIMEOUT:-240}     # seconds for all idle logins
IDLE_SETTLE=${IDLE_SETTLE:-5}         # seconds between the last login and reading RSS
IDLE_RESTART=${IDLE_RESTART:-0}       # 1: restart the poolers before the idle test (RSS of a fresh process)
IDLE_STACKS=${IDLE_STACKS:-0}         # 1: a heap dump of pgloom with the idle clients held, read by stack_chunks.py
SCALE=${SCALE:-10}                # pgbench -i -s
PG_PORT=${PG_PORT:-25432}
PG_TLS_PORT=${PG_TLS_PORT:-25433}  # the second PostgreSQL, with ssl = on, for scenarios i and j
PGLOOM_PORT=${PGLOOM_PORT:-26432}
PGBOUNCER_PORT=${PGBOUNCER_PORT:-27432}
PGLOOM_BASE_PORT=${PGLOOM_BASE_PORT:-28432}
BASE_REV=${BASE_REV:-}            # a git revision: also run pgloom built from it (target pgloom_base), for before/after
OUT_DIR=${OUT_DIR:-$here/out}
PERF_STAT=${PERF_STAT:-0}         # 1: count the pooler's syscalls and context switches per transaction (perf stat)
# PGLOOM_JAVA_OPTS is passed through to the pgloom launcher (JFR, NMT, heap flags...).
PGLOOM_INI_EXTRA=${PGLOOM_INI_EXTRA:-}  # lines appended to pgloom.ini only (e.g. metrics_listen_port = ...)
PGLOOM_BASE_INI_EXTRA=${PGLOOM_BASE_INI_EXTRA-$PGLOOM_INI_EXTRA}  # the same for pgloom_base (default: PGLOOM_INI_EXTRA)
AFTER_START=${AFTER_START:-}      # a command run once the poolers listen, instead of the scenarios and the idle test

declare -A SCENARIO_OPTS=(
  [a]="-S -c 10 -j 2"
  [b]="-S -c 100 -j 2"
  [c]="-S -M extended -c 10 -j 2"
  [d]="-c 10 -j 2"
  [e]="-C -S -c 10 -j 2"
  [f]="-S -M prepared -c 10 -j 2"
  [g]="-C -S -c 10 -j 2"
  [h]="-S -c 10 -j 2"
  [i]="-C -S -c 10 -j 2"
  [j]="-S -c 10 -j 2"
)
# Scenarios whose clients use TLS to the pooler (sslmode=require; the poolers to PostgreSQL stay
# plain). Every other run sets sslmode=disable: libpq's default, prefer, would encrypt them too.
# Not run against PostgreSQL directly (its bench instance has no certificate).
declare -A SCENARIO_SSL=([g]=require [h]=require [i]=require [j]=require)
# Scenarios whose poolers reach PostgreSQL over TLS too: they use database bench_tls, which is the
# second PostgreSQL (ssl = on, the same certificates). Both poolers run server_tls_sslmode = prefer,
# so they encrypt towards that server because it offers TLS, and stay plain towards the first.
declare -A SCENARIO_DB=([i]=bench_tls [j]=bench_tls)
declare -A SCENARIO_NAME=(
  [a]="select-only, 10 clients"
  [b]="select-only, 100 clients"
  [c]="select-only extended, 10 clients"
  [d]="TPC-B-like, 10 clients"
  [e]="select-only, connect per tx, 10 clients"
  [f]="select-only prepared, 10 clients"
  [g]="TLS: select-only, connect per tx, 10 clients"
  [h]="TLS: select-only, 10 clients"
  [i]="TLS both sides: select-only, connect per tx, 10 clients"
  [j]="TLS both sides: select-only, 10 clients"
)
declare -A PORT=([direct]=$PG_PORT [pgloom]=$PGLOOM_PORT [pgbouncer]=$PGBOUNCER_PORT [pgloom_base]=$PGLOOM_BASE_PORT)
if [ -n "$BASE_REV" ] && [[ " $TARGETS " != *" pgloom_base "* ]]; then
  TARGETS=$(echo " $TARGETS " | sed 's/ pgloom / pgloom pgloom_base /; s/^ //; s/ $//')
  [[ " $TARGETS " == *" pgloom_base "* ]] || TARGETS="$TARGETS pgloom_base"
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
run_dir=$OUT_DIR/$stamp
mkdir -p "$run_dir"
ln -sfn "$stamp" "$OUT_DIR/latest"
# PgBouncer runs as an unprivileged user and must read its config from here.
chmod 755 "$OUT_DIR" "$run_dir"

say() { echo "bench: $*" >&2; }

# ------------------------------------------------------------------ process bookkeeping and cleanup

STARTED=()   # "pid name" of every process this script started, in start order

remember() { STARTED+=("$1 $2"); }

forget() { # pid
  local kept=() e
  for e in "${STARTED[@]}"; do [[ $e == "$1 "* ]] || kept+=("$e"); done
  STARTED=("${kept[@]}")
}

stop_process() { # pid name [seconds]
  local pid=$1 name=$2 grace=${3:-30} i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name ($pid) did not stop after ${grace}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? i pid name
  trap - EXIT INT TERM
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    read -r pid name <<<"${STARTED[i]}"
    stop_process "$pid" "$name"
  done
  [ "$rc" -eq 0 ] || say "failed (exit $rc); logs in $run_dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ helpers

listener_pid() { # port -> pid of the process that owns the listening socket
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}

wait_listen() { # port seconds pid-that-must-stay-alive name
  local port=$1 secs=$2 pid=$3 name=$4 i
  for ((i = 0; i < secs * 10; i++)); do
    [ -n "$(listener_pid "$port")" ] && return 0
    kill -0 "$pid" 2>/dev/null || { say "$name exited before listening on $port"; return 1; }
    sleep 0.1
  done
  say "$name is not listening on $port after ${secs}s"
  return 1
}

is_descendant() { # pid ancestor
  local p=$1
  while [ -n "$p" ] && [ "$p" -gt 1 ]; do
    [ "$p" = "$2" ] && return 0
    p=$(awk '/^PPid:/{print $2}' "/proc/$p/status" 2>/dev/null || true)
  done
  return 1
}

rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
rss_split() { awk '/^Rss(Anon|File|Shmem):/{sub(":", "", $1); printf "%s%s %.1f", sep, $1, $2 / 1024; sep = ", "}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/{print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }

port_free() { [ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# ------------------------------------------------------------------ prerequisites

ulimit_want=$((IDLE_CLIENTS + 4096))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$ulimit_want" ]; then
  ulimit -Hn "$ulimit_want" 2>/dev/null || say "cannot raise the hard open-files limit to $ulimit_want (it is $hard)"
fi
ulimit -Sn "$(ulimit -Hn)"
say "open-files limit: $(ulimit -Sn)"

for tool in pgbench psql python3 ss; do
  command -v "$tool" >/dev/null || { say "$tool is required"; exit 1; }
done

want_pgbouncer=0
[[ " $TARGETS " == *" pgbouncer "* ]] && want_pgbouncer=1
# PgBouncer 1.25.2 from ../shared/anchors when it is there (the version pgloom matches), else the
# one on PATH (Debian's is 1.18); PGBOUNCER_BIN overrides both.
anchor=$root/../shared/anchors/pgbouncer-1.25.2
pgbouncer_bin=${PGBOUNCER_BIN:-$([ -x "$anchor" ] && echo "$anchor" || command -v pgbouncer || true)}
if [ "$want_pgbouncer" = 1 ] && [ -z "$pgbouncer_bin" ]; then
  say "skipping PgBouncer: no pgbouncer on PATH (Debian: apt-get install -y pgbouncer) and no $anchor"
  TARGETS=$(echo " $TARGETS " | sed 's/ pgbouncer / /; s/^ //; s/ $//')
  want_pgbouncer=0
fi
pgbouncer_user=
if [ "$want_pgbouncer" = 1 ] && [ "$(id -u)" = 0 ]; then
  # PgBouncer refuses to run as root.
  if id postgres >/dev/null 2>&1; then pgbouncer_user=postgres; else pgbouncer_user=nobody; fi
fi

for t in $TARGETS; do
  port_free "${PORT[$t]}" || { say "port ${PORT[$t]} ($t) is already in use"; exit 1; }
done
[[ " $TARGETS " == *" direct "* ]] || port_free "$PG_PORT" || { say "port $PG_PORT is already in use"; exit 1; }

if [ ! -f "$root/server/target/pgloom.jar" ]; then
  say "building pgloom"
  (cd "$root" && JAVA_HOME=$("$root/bin/find-jdk25") mvn -B -q -o package -DskipTests)
fi

base_jar=
if [[ " $TARGETS " == *" pgloom_base "* ]]; then
  [ -n "$BASE_REV" ] || { say "target pgloom_base needs BASE_REV (a git revision to build)"; exit 1; }
  base_src=$run_dir/base-src
  say "building pgloom at $BASE_REV for pgloom_base"
  git -C "$root" worktree add -q --detach "$base_src" "$BASE_REV"
  (cd "$base_src" && JAVA_HOME=$("$root/bin/find-jdk25") mvn -B -q -o package -DskipTests) >"$run_dir/base-build.log" 2>&1 \
    || { tail -20 "$run_dir/base-build.log" >&2; git -C "$root" worktree remove --force "$base_src"; exit 1; }
  base_jar=$run_dir/pgloom-base.jar
  cp "$base_src/server/target/pgloom.jar" "$base_jar"
  echo "pgloom_base commit: $(git -C "$base_src" rev-parse --short HEAD)" >"$run_dir/base-commit.txt"
  git -C "$root" worktree remove --force "$base_src"
fi

{
  echo "date: $(date -u)"
  echo "pgloom commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  [ -z "$base_jar" ] || cat "$run_dir/base-commit.txt"
  echo "nproc: $(nproc)"
  free -h | sed 's/^/free: /'
  echo "uname: $(uname -sr)"
  echo "java: $("$("$root/bin/find-jdk25")/bin/java" -version 2>&1 | head -1)"
  echo "pgbench: $(pgbench --version)"
  [ -n "$pgbouncer_bin" ] && echo "pgbouncer: $("$pgbouncer_bin" --version | head -1)"
  echo "DURATION=$DURATION ROUNDS=$ROUNDS WARMUP=$WARMUP SCENARIOS='$SCENARIOS' TARGETS='$TARGETS'"
  echo "IDLE_CLIENTS=$IDLE_CLIENTS IDLE_RESTART=$IDLE_RESTART PGLOOM_JAVA_OPTS='${PGLOOM_JAVA_OPTS:-}'"
} >"$run_dir/environment.txt"

# ------------------------------------------------------------------ PostgreSQL

# A throwaway PostgreSQL on port $1 (log $2), further `pgloom postgres` options after; waits until it is ready.
start_postgres() { # port log [options...]
  local port=$1 log=$2 pid i
  shift 2
  say "starting PostgreSQL on $port${1:+ ($*)}"
  "$root/pgloom" postgres --port "$port" --password postgres --max-connections 300 "$@" >"$log" 2>&1 &
  pid=$!
  remember "$pid" "postgres-$port"
  for ((i = 0; ; i++)); do
    grep -q "^ready $port" "$log" && break
    kill -0 "$pid" 2>/dev/null || { say "PostgreSQL failed to start:"; tail -20 "$log" >&2; exit 1; }
    [ "$i" -lt 1800 ] || { say "PostgreSQL not ready after 180s"; exit 1; }
    sleep 0.1
  done
}

start_postgres "$PG_PORT" "$run_dir/postgres.log"
echo "postgresql: $(PGPASSWORD=postgres psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atc 'show server_version')" \
  >>"$run_dir/environment.txt"

PGPASSWORD=postgres psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE bench LOGIN PASSWORD 'bench'" -c "CREATE DATABASE bench OWNER bench"
if [ -n "$SCENARIOS" ] || [ -n "${AFTER_START:-}" ]; then # a hook (latency.sh) runs pgbench too
  say "pgbench -i -s $SCALE"
  PGPASSWORD=bench pgbench -h 127.0.0.1 -p "$PG_PORT" -U bench -i -s "$SCALE" -q bench >"$run_dir/pgbench-init.log" 2>&1 \
    || { tail -20 "$run_dir/pgbench-init.log" >&2; exit 1; }
fi

# ------------------------------------------------------------------ the one pooler config

# Identical for both poolers except listen_port.
write_ini() { # port file
  cat >"$2" <<EOF
; written by bench/run.sh: the same file for pgloom and PgBouncer, only listen_port differs
[databases]
bench = host=127.0.0.1 port=$PG_PORT dbname=bench

${server_tls_entry:-}
[pgbouncer]
server_tls_sslmode = prefer
listen_addr = 127.0.0.1
listen_port = $1
auth_type = md5
auth_file = $run_dir/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 12000
ignore_startup_parameters = extra_float_digits
EOF
  [ -z "${tls_ini:-}" ] || printf '%s\n' "$tls_ini" >>"$2"
  chmod 644 "$2"
}
tls_scenarios=
for s in $SCENARIOS; do [ -z "${SCENARIO_SSL[$s]:-}" ] || tls_scenarios=1; done
if [ -n "$tls_scenarios" ]; then
  # One development CA and server certificate, the same files for both poolers (pgloom cert dev).
  "$root/pgloom" cert dev --out "$run_dir/certs" --hosts localhost,127.0.0.1 >/dev/null
  chmod 755 "$run_dir/certs"
  [ -z "$pgbouncer_user" ] || chown -R "$pgbouncer_user" "$run_dir/certs"
  tls_ini="client_tls_sslmode = prefer
client_tls_cert_file = $run_dir/certs/server.crt
client_tls_key_file = $run_dir/certs/server.key"
fi
server_tls=
for s in $SCENARIOS; do [ -z "${SCENARIO_DB[$s]:-}" ] || server_tls=1; done
if [ -n "$server_tls" ]; then
  start_postgres "$PG_TLS_PORT" "$run_dir/postgres-tls.log" --tls "$run_dir/certs/server.crt" "$run_dir/certs/server.key"
  PGPASSWORD=postgres psql -h 127.0.0.1 -p "$PG_TLS_PORT" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE bench LOGIN PASSWORD 'bench'" -c "CREATE DATABASE bench OWNER bench"
  PGPASSWORD=bench pgbench -h 127.0.0.1 -p "$PG_TLS_PORT" -U bench -i -s "$SCALE" -q bench >"$run_dir/pgbench-init-tls.log" 2>&1 \
    || { tail -20 "$run_dir/pgbench-init-tls.log" >&2; exit 1; }
  server_tls_entry="bench_tls = host=127.0.0.1 port=$PG_TLS_PORT dbname=bench"
fi
echo '"bench" "bench"' >"$run_dir/userlist.txt"
chmod 644 "$run_dir/userlist.txt"
write_ini "$PGLOOM_PORT" "$run_dir/pgloom.ini"
[ -z "$PGLOOM_INI_EXTRA" ] || printf '%s\n' "$PGLOOM_INI_EXTRA" >>"$run_dir/pgloom.ini"
write_ini "$PGBOUNCER_PORT" "$run_dir/pgbouncer.ini"
write_ini "$PGLOOM_BASE_PORT" "$run_dir/pgloom-base.ini"
[ -z "$PGLOOM_BASE_INI_EXTRA" ] || printf '%s\n' "$PGLOOM_BASE_INI_EXTRA" >>"$run_dir/pgloom-base.ini"
diff "$run_dir/pgloom.ini" "$run_dir/pgbouncer.ini" >"$run_dir/ini.diff" || true

pgloom_pid=
pgloom_base_pid=
pgbouncer_pid=

start_pgloom() { # [log suffix] [base]: base runs the BASE_REV jar on PGLOOM_BASE_PORT
  local log=$run_dir/pgloom${2:+-base}${1:-}.log launcher port=$PGLOOM_PORT ini=$run_dir/pgloom.ini jar= pid
  if [ -n "${2:-}" ]; then port=$PGLOOM_BASE_PORT ini=$run_dir/pgloom-base.ini jar=$base_jar; fi
  say "starting pgloom${2:+ ($BASE_REV)} on $port${PGLOOM_JAVA_OPTS:+ (PGLOOM_JAVA_OPTS=$PGLOOM_JAVA_OPTS)}"
  PGLOOM_JAR=$jar "$root/pgloom" run --shutdown-wait 5 "$ini" >"$log" 2>&1 &
  launcher=$!
  remember "$launcher" "pgloom${2:+_base}"
  wait_listen "$port" 60 "$launcher" pgloom || { tail -20 "$log" >&2; exit 1; }
  # The launcher execs java, so usually $launcher is the JVM; take the socket's owner to be sure.
  pid=$(listener_pid "$port")
  is_descendant "$pid" "$launcher" || { say "port $port is owned by $pid, not by our pgloom"; exit 1; }
  [[ $(readlink "/proc/$pid/exe") == */java ]] || { say "pgloom pid $pid is not a java process"; exit 1; }
  [ "$pid" = "$launcher" ] || remember "$pid" "pgloom${2:+_base}-jvm"
  echo "pgloom${2:+_base} $pid: $(grep 'open files' "/proc/$pid/limits")" >>"$run_dir/environment.txt"
  if [ -n "${2:-}" ]; then pgloom_base_pid=$pid; else pgloom_pid=$pid; fi
}

start_pgloom_base() { start_pgloom "${1:-}" base; }

start_pgbouncer() {
  local log=$run_dir/pgbouncer${1:-}.log launcher
  say "starting PgBouncer on $PGBOUNCER_PORT${pgbouncer_user:+ as $pgbouncer_user}"
  if [ -n "$pgbouncer_user" ]; then
    # runuser's PAM session resets the open-files soft limit (to 1024): raise it again inside.
    runuser -u "$pgbouncer_user" -- bash -c 'ulimit -Sn "$(ulimit -Hn)" && exec "$0" "$@"' \
      "$pgbouncer_bin" "$run_dir/pgbouncer.ini" >"$log" 2>&1 &
  else
    "$pgbouncer_bin" "$run_dir/pgbouncer.ini" >"$log" 2>&1 &
  fi
  launcher=$!
  remember "$launcher" pgbouncer-launcher
  wait_listen "$PGBOUNCER_PORT" 30 "$launcher" pgbouncer || { tail -20 "$log" >&2; exit 1; }
  pgbouncer_pid=$(listener_pid "$PGBOUNCER_PORT")
  is_descendant "$pgbouncer_pid" "$launcher" || { say "port $PGBOUNCER_PORT is owned by $pgbouncer_pid, not by our pgbouncer"; exit 1; }
  [ "$pgbouncer_pid" = "$launcher" ] || remember "$pgbouncer_pid" pgbouncer
  echo "pgbouncer $pgbouncer_pid: $(grep 'open files' "/proc/$pgbouncer_pid/limits")" >>"$run_dir/environment.txt"
}

stop_pooler() { # name
  local i pid name
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    read -r pid name <<<"${STARTED[i]}"
    if [[ $name == "$1" || $name == "$1-jvm" || $name == "$1-launcher" ]]; then
      stop_process "$pid" "$name"
      unset 'STARTED[i]'
    fi
  done
  STARTED=("${STARTED[@]}")
}

if [[ " $TARGETS " == *" pgloom "* ]]; then start_pgloom; fi
if [[ " $TARGETS " == *" pgloom_base "* ]]; then start_pgloom_base; fi
if [[ " $TARGETS " == *" pgbouncer "* ]]; then start_pgbouncer; fi

# ------------------------------------------------------------------ or a caller's own load

if [ -n "$AFTER_START" ]; then
  say "running AFTER_START: $AFTER_START"
  export PG_PORT PGLOOM_PORT PGBOUNCER_PORT RUN_DIR=$run_dir
  bash -c "$AFTER_START" &
  hook_pid=$!
  remember "$hook_pid" after-start
  hook_rc=0
  wait "$hook_pid" || hook_rc=$?
  forget "$hook_pid"
  exit "$hook_rc"
fi

# ------------------------------------------------------------------ pgbench, interleaved

raw=$run_dir/tps.csv
echo "scenario,target,round,tps,exit,failed_tx,transactions,pooler_cpu_s,pooler_cpu_us_per_tx,pooler_sys_pct" >"$raw"
clk_tck=$(getconf CLK_TCK)
PERF_EVENTS=task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter
for sc in read write readv writev recvfrom sendto recvmsg sendmsg epoll_wait epoll_pwait epoll_ctl futex; do
  PERF_EVENTS+=",syscalls:sys_enter_$sc"
done
if [ "$PERF_STAT" = 1 ] && ! perf stat -e "$PERF_EVENTS" true >/dev/null 2>&1; then
  say "PERF_STAT=1 but perf cannot count $PERF_EVENTS here; going on without it"
  PERF_STAT=0
fi

cpu_ticks() { # pid -> "utime stime" in clock ticks (fields 14 and 15 of /proc/PID/stat)
  sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12, $13}'
}

pooler_pid() { # target -> pid of the pooler process, empty for direct
  case $1 in pgloom) echo "$pgloom_pid" ;; pgloom_base) echo "$pgloom_base_pid" ;; pgbouncer) echo "$pgbouncer_pid" ;; esac
}

# Sets RESULT to "tps exit failed transactions cpu_s cpu_us_per_tx sys_pct"; the CPU is the pooler's
# own (user+sys) during the run, so the pooler's cost per transaction shows even when the box is
# CPU-bound. pgbench (and perf) run as tracked background children so that cleanup can stop them.
RESULT=
pgbench_run() { # target opts duration log [sslmode] [database]
  local u0 s0 u1 s1 bench_pid rc=0 tps failed txs pid c0= c1 cpu=NA per=NA sys=NA
  pid=$(pooler_pid "$1")
  [ -z "$pid" ] || c0=$(cpu_ticks "$pid")
  local perf_pid=
  if [ "$PERF_STAT" = 1 ] && [ -n "$pid" ]; then
    perf stat -x, -o "${4%.log}.perf" -e "$PERF_EVENTS" -p "$pid" >/dev/null 2>&1 &
    perf_pid=$!
    remember "$perf_pid" perf
    sleep 0.2
  fi
  # shellcheck disable=SC2086
  PGSSLMODE=${5:-disable} PGPASSWORD=bench pgbench -h 127.0.0.1 -p "${PORT[$1]}" -U bench -T "$3" $2 "${6:-bench}" >"$4" 2>&1 &
  bench_pid=$!
  remember "$bench_pid" pgbench
  wait "$bench_pid" || rc=$?
  forget "$bench_pid"
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    forget "$perf_pid"
  fi
  tps=$(awk '/^tps = /{print $3; exit}' "$4")
  failed=$(awk -F'[: ]+' '/^number of failed transactions/{print $5; exit}' "$4")
  txs=$(awk -F': *' '/^number of transactions actually processed/{print $2; exit}' "$4")
  if [ -n "$pid" ]; then
    c1=$(cpu_ticks "$pid")
    read -r u0 s0 <<<"$c0"
    read -r u1 s1 <<<"$c1"
    cpu=$(awk -v a=$((u0 + s0)) -v b=$((u1 + s1)) -v h="$clk_tck" 'BEGIN{printf "%.2f", (b - a) / h}')
    sys=$(awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) 'BEGIN{if (u + s > 0) printf "%.0f", 100 * s / (u + s); else print "NA"}')
    per=$(awk -v c="$cpu" -v n="${txs:-0}" 'BEGIN{if (n > 0) printf "%.1f", c * 1e6 / n; else print "NA"}')
  fi
  RESULT="${tps:-NA} $rc ${failed:-NA} ${txs:-NA} $cpu $per $sys"
}

if [ -n "$SCENARIOS" ]; then
  if [ "$WARMUP" -gt 0 ]; then
    # Every scenario once per target, unmeasured: each runs code the others do not (the extended
    # and prepared protocols, TPC-B's statements, the connect path, TLS), and without this the JIT
    # compiles it during round 1 on the two cores the measured runs share (bench/RESULTS.md,
    # 2026-12-05: up to a fifth of pgloom's CPU in the first ten seconds of a scenario).
    for t in $TARGETS; do
      for s in $SCENARIOS; do
        [ "$t" = direct ] && [ -n "${SCENARIO_SSL[$s]:-}" ] && continue
        say "warm-up: $t, ($s) pgbench ${SCENARIO_OPTS[$s]} -T $WARMUP"
        pgbench_run "$t" "${SCENARIO_OPTS[$s]}" "$WARMUP" "$run_dir/warmup-$s-$t.log" "${SCENARIO_SSL[$s]:-}" "${SCENARIO_DB[$s]:-}"
      done
    done
  fi
  n_runs=0
  for s in $SCENARIOS; do for t in $TARGETS; do
    [ "$t" = direct ] && [ -n "${SCENARIO_SSL[$s]:-}" ] || n_runs=$((n_runs + ROUNDS))
  done; done
  k=0
  for ((round = 1; round <= ROUNDS; round++)); do
    # Even rounds run the targets in reverse order, so no target always runs right after another
    # (the one after direct finds PostgreSQL's caches warmest; a neighbour's load drifts in time).
    order=$TARGETS
    ((round % 2 == 0)) && order=$(tr ' ' '\n' <<<"$TARGETS" | tac | tr '\n' ' ')
    for s in $SCENARIOS; do
      for t in $order; do
        [ "$t" = direct ] && [ -n "${SCENARIO_SSL[$s]:-}" ] && continue
        k=$((k + 1))
        pgbench_run "$t" "${SCENARIO_OPTS[$s]}" "$DURATION" "$run_dir/pgbench-$s-$t-r$round.log" "${SCENARIO_SSL[$s]:-}" "${SCENARIO_DB[$s]:-}"
        read -r tps rc failed txs cpu per sys <<<"$RESULT"
        say "[$k/$n_runs] round $round ($s) ${SCENARIO_OPTS[$s]} -> $t: tps $tps, failed tx $failed$([ "$rc" = 0 ] || echo ", pgbench exit $rc")$([ "$per" = NA ] || echo ", pooler CPU ${cpu}s (${sys}% sys) = ${per} us/tx")"
        echo "$s,$t,$round,$tps,$rc,$failed,$txs,$cpu,$per,$sys" >>"$raw"
      done
    done
  done
fi

# ------------------------------------------------------------------ RSS with idle clients

rss_lines=$run_dir/rss.txt
: >"$rss_lines"

idle_test() { # target pid
  local t=$1 pid=$2 before after with split peak out client held line i
  if [ "$IDLE_RESTART" = 1 ]; then
    stop_pooler "$t"
    "start_$t" -idle
    pid=$(pooler_pid "$t")
    sleep 2
  fi
  before=$(rss_kib "$pid")
  out=$run_dir/idle-$t.out
  say "$t: opening $IDLE_CLIENTS idle clients (RSS before: $(mib "$before") MiB)"
  python3 "$here/idle_clients.py" --port "${PORT[$t]}" -n "$IDLE_CLIENTS" --parallel "$IDLE_PARALLEL" \
    --timeout "$IDLE_TIMEOUT" >"$out" 2>"$run_dir/idle-$t.err" &
  client=$!
  remember "$client" idle-clients
  for ((i = 0; ; i++)); do
    line=$(grep -m1 '^held ' "$out" || true)
    [ -n "$line" ] && break
    kill -0 "$client" 2>/dev/null || { say "idle client died:"; cat "$run_dir/idle-$t.err" >&2; exit 1; }
    [ "$i" -lt $(((IDLE_TIMEOUT + 30) * 10)) ] || { say "idle client did not finish"; exit 1; }
    sleep 0.1
  done
  sleep "$IDLE_SETTLE"
  with=$(rss_kib "$pid")
  split=$(rss_split "$pid")
  peak=$(hwm_kib "$pid")
  held=$(awk '{print $2}' <<<"$line")
  if [ "$t" = pgloom ]; then
    local jcmd
    jcmd="$("$root/bin/find-jdk25")/bin/jcmd"
    {
      echo "== RSS $(mib "$with") MiB with $line"
      echo "== GC.heap_info"; "$jcmd" "$pid" GC.heap_info 2>&1 || true
      echo "== VM.native_memory summary"; "$jcmd" "$pid" VM.native_memory summary 2>&1 || true
      echo "== GC.class_histogram (top 30; forces a full GC, taken after the RSS reading)"
      "$jcmd" "$pid" GC.class_histogram 2>&1 | head -33 || true
      echo "== GC.heap_info after that full GC"; "$jcmd" "$pid" GC.heap_info 2>&1 || true
      if [ "$IDLE_STACKS" = 1 ]; then
        echo "== stack chunks of the parked threads (stack_chunks.py on a heap dump, deleted after)"
        "$jcmd" "$pid" GC.heap_dump "$run_dir/idle-pgloom.hprof" >/dev/null 2>&1 &&
          python3 "$here/stack_chunks.py" "$run_dir/idle-pgloom.hprof" 2>&1 || true
        rm -f "$run_dir/idle-pgloom.hprof"
      fi
    } >"$run_dir/idle-pgloom-jcmd.txt"
  fi
  ls "/proc/$pid/fd" | wc -l >"$run_dir/idle-$t.fds"
  stop_pooler idle-clients
  sleep 3
  after=$(rss_kib "$pid")
  printf '%-9s RSS: %7s MiB before, %7s MiB with %s idle clients (%s MiB; %s; peak VmHWM %s MiB), %7s MiB after they left\n' \
    "$t" "$(mib "$before")" "$(mib "$with")" "$held" "$split" "$line" "$(mib "$peak")" "$(mib "$after")" | tee -a "$rss_lines" >&2
}

if [ "$IDLE_CLIENTS" -gt 0 ]; then
  if [[ " $TARGETS " == *" pgloom "* ]]; then idle_test pgloom "$pgloom_pid"; fi
  if [[ " $TARGETS " == *" pgloom_base "* ]]; then idle_test pgloom_base "$pgloom_base_pid"; fi
  if [[ " $TARGETS " == *" pgbouncer "* ]]; then idle_test pgbouncer "$pgbouncer_pid"; fi
fi

# ------------------------------------------------------------------ the table

python3 - "$raw" "$rss_lines" "$run_dir/results.txt" "$SCENARIOS" "$TARGETS" \
  "$(for s in a b c d e f g h i j; do printf '%s\t%s (%s)\n' "$s" "${SCENARIO_OPTS[$s]}" "${SCENARIO_NAME[$s]}"; done)" <<'EOF'
import csv, os, random, statistics, sys
raw, rss, dest, scenarios, targets, names = sys.argv[1:7]
names = dict(l.split("\t", 1) for l in names.splitlines())
runs = {}
by_round = {}
cpu = {}
sysp = {}
bad = set()
for r in csv.DictReader(open(raw)):
    key = (r["scenario"], r["target"])
    if r["exit"] != "0" or r["failed_tx"] not in ("0", "NA", ""):
        bad.add(key)
    try:
        runs.setdefault(key, []).append(float(r["tps"]))
        by_round[(r["scenario"], r["target"], r["round"])] = float(r["tps"])
    except ValueError:
        bad.add(key)
    try:
        c = float(r["pooler_cpu_us_per_tx"])
        cpu.setdefault(key, []).append(c)
    except (ValueError, TypeError):
        pass
    try:
        c = float(r["pooler_sys_pct"])
        sysp.setdefault(key, []).append(c)
    except (ValueError, TypeError):
        pass
def med(s, t):
    v = runs.get((s, t))
    return statistics.median(v) if v else None
def cpu_med(s, t):
    v = cpu.get((s, t))
    return statistics.median(v) if v else None
def sys_med(s, t):
    v = sysp.get((s, t))
    return statistics.median(v) if v else None
def paired(s, a, b):
    """Median over rounds of the ratio a/b within each round: the two ran minutes apart, so a
    neighbour's load that drifts between rounds cancels out, unlike in the ratio of medians."""
    v = [by_round[(s, a, k[2])] / by_round[(s, b, k[2])] for k in by_round
         if k[0] == s and k[1] == a and (s, b, k[2]) in by_round and by_round[(s, b, k[2])] > 0]
    return "%.2f" % statistics.median(v) if v else "-"
def interval(s, a, b):
    """A 90% bootstrap interval of the ratio of medians a/b: the rounds drawn again with replacement
    (a round's two runs together), 2,000 times. Where it holds 1.0 this run cannot tell a from b."""
    pairs = [(by_round[k], by_round[(s, b, k[2])]) for k in by_round
             if k[0] == s and k[1] == a and by_round.get((s, b, k[2]), 0) > 0]
    if len(pairs) < 3:
        return "-"
    rnd = random.Random(1)
    rs = sorted(statistics.median(x for x, _ in d) / statistics.median(y for _, y in d)
                for d in ([rnd.choice(pairs) for _ in pairs] for _ in range(2000)))
    return "%.2f-%.2f" % (rs[100], rs[1899])
def fmt(x, star=False):
    return "-" if x is None else ("%.0f" % x) + ("*" if star else "")
def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else "%.2f" % (a / b)
lines = []
if scenarios.split():
    base = "pgloom_base" in targets.split()
    hdr = ["scenario", "direct tps", "pgloom tps", "pgbouncer tps", "pgloom/pgbouncer", "90% interval", "paired", "pgloom/direct"]
    if base:
        hdr += ["base tps", "pgloom/base"]
    rows = []
    for s in scenarios.split():
        d, l, b, lb = (med(s, t) for t in ("direct", "pgloom", "pgbouncer", "pgloom_base"))
        rows.append([names.get(s, s), fmt(d, (s, "direct") in bad), fmt(l, (s, "pgloom") in bad),
                     fmt(b, (s, "pgbouncer") in bad), ratio(l, b), interval(s, "pgloom", "pgbouncer"),
                     paired(s, "pgloom", "pgbouncer"), ratio(l, d)]
                    + ([fmt(lb, (s, "pgloom_base") in bad), ratio(l, lb)] if base else []))
    w = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i]) for i, c in enumerate(cells)) + " |"
    lines.append(line(hdr))
    lines.append("|" + "|".join("-" * (x + 1) + ("-" if i == 0 else ":") for i, x in enumerate(w)) + "|")
    lines += [line(r) for r in rows]
    cpu_rows = []
    for s in scenarios.split():
        l, b, lb = (cpu_med(s, t) for t in ("pgloom", "pgbouncer", "pgloom_base"))
        ls, bs = (sys_med(s, t) for t in ("pgloom", "pgbouncer"))
        if l is not None or b is not None:
            cpu_rows.append([names.get(s, s), "-" if l is None else "%.1f" % l, "-" if b is None else "%.1f" % b, ratio(l, b),
                             "-" if ls is None else "%.0f%%" % ls, "-" if bs is None else "%.0f%%" % bs]
                            + (["-" if lb is None else "%.1f" % lb, ratio(l, lb)] if base else []))
    if cpu_rows:
        hdr2 = ["scenario", "pgloom CPU us/tx", "pgbouncer CPU us/tx", "pgloom/pgbouncer", "pgloom sys", "pgbouncer sys"]
        if base:
            hdr2 += ["base CPU us/tx", "pgloom/base"]
        w2 = [max(len(str(x)) for x in col) for col in zip(hdr2, *cpu_rows)]
        line2 = lambda cells: "| " + " | ".join(str(c).ljust(w2[i]) if i == 0 else str(c).rjust(w2[i]) for i, c in enumerate(cells)) + " |"
        lines.append("")
        lines.append("pooler process CPU time (user+sys) per transaction, median of rounds:")
        lines.append(line2(hdr2))
        lines.append("|" + "|".join("-" * (x + 1) + ("-" if i == 0 else ":") for i, x in enumerate(w2)) + "|")
        lines += [line2(r) for r in cpu_rows]
    perf = {}
    for r in csv.DictReader(open(raw)):
        f = os.path.join(os.path.dirname(raw), "pgbench-%s-%s-r%s.perf" % (r["scenario"], r["target"], r["round"]))
        if not os.path.exists(f) or not r["transactions"].isdigit() or int(r["transactions"]) == 0:
            continue
        ev = {}
        for l in open(f):
            parts = l.strip().split(",")
            if len(parts) >= 3 and parts[0].replace(".", "").isdigit():
                name = parts[2].replace("syscalls:sys_enter_", "").replace("raw_syscalls:sys_enter", "syscalls")
                ev[name] = float(parts[0])
        tx = int(r["transactions"])
        g = lambda *ks: sum(ev.get(k, 0) for k in ks) / tx
        row = {"syscalls": g("syscalls"), "read/recv": g("read", "readv", "recvfrom", "recvmsg"),
               "write/send": g("write", "writev", "sendto", "sendmsg"), "epoll_wait": g("epoll_wait", "epoll_pwait"),
               "epoll_ctl": g("epoll_ctl"), "futex": g("futex"), "ctx switches": g("context-switches")}
        perf.setdefault((r["scenario"], r["target"]), []).append(row)
    if perf:
        cols = ["syscalls", "read/recv", "write/send", "epoll_wait", "epoll_ctl", "futex", "ctx switches"]
        hdr3 = ["scenario", "pooler"] + cols
        rows3 = []
        for s in scenarios.split():
            for t in ("pgloom", "pgloom_base", "pgbouncer"):
                if (s, t) in perf:
                    rows3.append([s, t] + ["%.1f" % statistics.median(x[c] for x in perf[(s, t)]) for c in cols])
        w3 = [max(len(str(x)) for x in col) for col in zip(hdr3, *rows3)]
        line3 = lambda cells: "| " + " | ".join(str(c).ljust(w3[i]) if i < 2 else str(c).rjust(w3[i]) for i, c in enumerate(cells)) + " |"
        lines.append("")
        lines.append("pooler syscalls and context switches per transaction (perf stat -p, median of rounds):")
        lines.append(line3(hdr3))
        lines.append("|" + "|".join("-" * (x + 1) + ("-" if i < 2 else ":") for i, x in enumerate(w3)) + "|")
        lines += [line3(r) for r in rows3]
    n = max((len(v) for v in runs.values()), default=0)
    lines.append("")
    lines.append("tps = median of %d interleaved round(s); 90%% interval = of pgloom/pgbouncer, rounds resampled (bootstrap); paired = median of the rounds' own pgloom/pgbouncer ratios%s" % (n, "; * = some run failed or had failed transactions (see tps.csv)" if bad else ""))
    lines.append("per-round tps:")
    for s in scenarios.split():
        for t in targets.split():
            if (s, t) in runs:
                lines.append("  %s %-11s %s%s" % (s, t, " ".join("%.0f" % x for x in runs[(s, t)]),
                             "   (pooler CPU us/tx: %s)" % " ".join("%.1f" % x for x in cpu[(s, t)]) if (s, t) in cpu else ""))
rl = open(rss).read().rstrip()
if rl:
    lines.append("")
    lines.append(rl)
text = "\n".join(lines) + "\n"
open(dest, "w").write(text)
sys.stdout.write(text)
EOF
say "results: $run_dir/results.txt"
