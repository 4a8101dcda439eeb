#!/usr/bin/env python3
"""Counts what pgloom passes of PgBouncer's own suite, as docs/conformance.md reports it.

Usage: docs/conformance-count.py SUITE_LOG unix|tcp [BASELINE]

SUITE_LOG is the output of run-pgbouncer-suite.sh run with -vv (one line per test). The base is
every test the log shows as run, less test_ssl.py and test_load_balance_hosts.py (their own
issues) and the tests PgBouncer 1.25.2 itself fails in that mode (BASELINE, default
../shared/conformance/baseline-1.25.2.txt); test_online_restart and test_scram_takeover, which the
documented command deselects, count as failed wherever PgBouncer passes them.
"""
import re
import sys
from pathlib import Path

DESELECTED = ["test/test_operations.py::test_online_restart", "test/test_operations.py::test_scram_takeover"]
OUT_OF_SCOPE = ("test/test_ssl.py::", "test/test_load_balance_hosts.py::")


def baseline_failures(text, mode):
    section = text.split("## tcp mode")[0 if mode == "unix" else 1]
    return set(re.findall(r"^(?:FAILED|ERROR) (test/\S+::\S+)", section, re.M))


def outcomes(log):
    seen = {}
    for test, outcome in re.findall(r"^(test/\S+::\S+) (PASSED|FAILED|SKIPPED|ERROR)", log, re.M):
        if outcome == "PASSED" or test not in seen:
            seen[test] = outcome
    return seen


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in ("unix", "tcp"):
        sys.exit(__doc__)
    log = Path(sys.argv[1]).read_text()
    baseline = Path(sys.argv[3] if len(sys.argv) > 3 else "../shared/conformance/baseline-1.25.2.txt").read_text()
    pgbouncer_fails = baseline_failures(baseline, sys.argv[2])
    seen = outcomes(log)
    counted = [t for t, o in seen.items()
               if o != "SKIPPED" and not t.startswith(OUT_OF_SCOPE) and t not in pgbouncer_fails]
    deselected = [t for t in DESELECTED if t not in pgbouncer_fails and t not in seen]
    passed = [t for t in counted if seen[t] == "PASSED"]
    total = len(counted) + len(deselected)
    print(f"{sys.argv[2]}: pgloom passes {len(passed)} of {total} ({100 * len(passed) / total:.1f}%)"
          f" of the tests PgBouncer 1.25.2 passes here")
    for t in sorted(set(counted) - set(passed)) + deselected:
        print("  failed:", t)


if __name__ == "__main__":
    main()
