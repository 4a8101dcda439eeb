#!/usr/bin/env bash
# RSS of pgloom at IDLE_CLIENTS idle clients under different JVM flags, added through PGLOOM_JAVA_OPTS
# after the launcher's own (see ./pgloom: -XX:+UseSerialGC -Xss512k -Xmn8m -XX:+UseCompactObjectHeaders
# -XX:TrimNativeHeapInterval=2000), which they override. Each flag set gets a fresh PostgreSQL and
# pgloom via run.sh with no pgbench runs; prints one line per flag set and writes them to
# bench/out/rss-flags-<date>.txt. Extra flag sets: pass them as arguments.
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)

flag_sets=(
  ""
  "-Xmn12m"
  "-Xmn16m"
  "-XX:-UseCompactObjectHeaders"
  "-XX:TrimNativeHeapInterval=0"
  "-XX:-TieredCompilation"
  "-Xmx64m"
)
[ $# -eq 0 ] || flag_sets=("$@")

mkdir -p "$here/out"
dest=$here/out/rss-flags-$(date -u +%Y%m%dT%H%M%SZ).txt
for flags in "${flag_sets[@]}"; do
  line=$(PGLOOM_JAVA_OPTS="$flags" SCENARIOS= TARGETS=pgloom "$here/run.sh" 2>/dev/null | grep '^pgloom *RSS:' | head -1)
  printf '%-40s %s\n' "${flags:-(launcher defaults only)}" "${line:-FAILED}" | tee -a "$dest"
done
echo "written to $dest" >&2
