#!/usr/bin/env bash
# Failover figures for RESULTS.md (issue 11), measured by tests/.../FailoverBench.java against real
# PostgreSQL primaries and streaming standbys (the test fixture's ReplicaSet):
#   - kill -9 of the primary under a writer, to the first write the new primary acknowledges,
#     RUNS times with the [failover] defaults and promote = on, and RUNS times with promote = off
#     and the standby promoted by the script at once (pgloom follows);
#   - pgbench -S through a prefer-standby entry over one standby, then over two.
# Prints the BENCH lines. Usage: RUNS=5 bench/failover.sh
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
root=$(cd "$here/.." && pwd)
RUNS=${RUNS:-5}
export JAVA_HOME=$("$root/bin/find-jdk25")
cd "$root"
mvn -B -q -o install -DskipTests
ulimit -Sn "$(ulimit -Hn)"
mvn -B -q -o -pl tests test-compile surefire:test@default-test -Dtest=FailoverBench \
  -Dsurefire.failIfNoSpecifiedTests=false -Dfailover.runs="$RUNS" -Dpgbench="$(command -v pgbench || echo pgbench)" || true
grep -h '^BENCH' tests/target/surefire-reports/io.pgloom.tests.FailoverBench-output.txt 2>/dev/null \
  || { echo "failover.sh: no BENCH lines; see tests/target/surefire-reports/" >&2; exit 1; }
