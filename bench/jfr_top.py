#!/usr/bin/env python3
"""Summarise stack samples of a JFR recording (pgloom profiling for bench/RESULTS.md).

    bench/jfr_top.py RECORDING.jfr [EVENT ...]

EVENT defaults to jdk.CPUTimeSample, jdk.ExecutionSample and jdk.NativeMethodSample. For each
event type prints: the top frames (self), the top frames counting each method once per stack
(total, i.e. inclusive) and the first io.pgloom frame of each stack. Uses `jfr print --json` of
the JDK in $JAVA_HOME or bin/find-jdk25 (`jfr print` without --json trips over some frames).
"""
import collections
import json
import os
import subprocess
import sys


def jfr_tool():
    home = os.environ.get("JAVA_HOME")
    if not home:
        here = os.path.dirname(os.path.abspath(__file__))
        home = subprocess.check_output([os.path.join(here, "..", "bin", "find-jdk25")], text=True).strip()
    return os.path.join(home, "bin", "jfr")


def frame_name(f):
    m = f.get("method") or {}
    t = (m.get("type") or {}).get("name", "?")
    return "%s.%s" % (t, m.get("name", "?"))


def main():
    path = sys.argv[1]
    events = sys.argv[2:] or ["jdk.CPUTimeSample", "jdk.ExecutionSample", "jdk.NativeMethodSample"]
    out = subprocess.check_output([jfr_tool(), "print", "--json", "--stack-depth", "64",
                                   "--events", ",".join(events), path])
    data = json.loads(out)
    by_type = collections.defaultdict(list)
    for e in data["recording"]["events"]:
        by_type[e["type"]].append(e)
    for typ in events:
        evs = by_type.get(typ, [])
        print("== %s: %d samples" % (typ, len(evs)))
        if not evs:
            continue
        self_c, total_c, first_pgloom = collections.Counter(), collections.Counter(), collections.Counter()
        for e in evs:
            st = (e["values"].get("stackTrace") or {}).get("frames") or []
            names = [frame_name(f) for f in st]
            if not names:
                continue
            self_c[names[0]] += 1
            for n in set(names):
                total_c[n] += 1
            names = [n.replace("/", ".") for n in names]
            pg = next((n for n in names if n.startswith("io.pgloom.") and "$$Lambda" not in n and "TaskScope" not in n), "(no pgloom frame)")
            first_pgloom[pg] += 1
        n = len(evs)
        for title, c, k in (("self", self_c, 15), ("total (inclusive)", total_c, 25), ("first pgloom frame", first_pgloom, 12)):
            print("-- %s" % title)
            for name, cnt in c.most_common(k):
                print("  %5.1f%% %6d  %s" % (100.0 * cnt / n, cnt, name))
        print()


if __name__ == "__main__":
    main()
