#!/usr/bin/env python3
"""What --follow costs a fork-heavy workload (issue 17): a `make -j2` of a generated C
project (--files sources, each compiled by gcc: gcc, cc1 and as per file, then a link),
interleaved untraced, under `memstudy run` (its own start and stop; the children untraced),
under `memstudy run --probe-floor --follow` (empty programs at the same places in every
process: the floor) and under `memstudy run --follow`, --runs times each from a clean tree. Prints the median
wall time of each and their ratio, and from memstudy's JSON how
long each new process waited stopped for its probes (at its fork or its exec): the median
and the maximum over every process of every run. With --record, also under
`memstudy run --follow --per-allocation` and `memstudy record --follow` (what recording the
tree costs over tracing it the same way live), with the recording's size and how long
`memstudy report --json` takes to read it. Needs root, gcc and make.
Usage: sudo bench/follow.py [--runs 5] [--files 20] [--record]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from foreign_probes import refuse_unless_alone


def project(d, files):
    for i in range(files):
        with open(os.path.join(d, "f%d.c" % i), "w") as f:
            f.write("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
                    "int f%d(int x) { char *p = malloc(x + 1); memset(p, 0, x + 1);\n"
                    "  int r = p[0] + x * %d; free(p); return r; }\n" % (i, i))
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write("OBJ = %s\nlib.so: $(OBJ)\n\tgcc -shared -o $@ $^\n"
                "%%.o: %%.c\n\tgcc -O2 -fPIC -c $< -o $@\nclean:\n\trm -f *.o lib.so\n"
                % " ".join("f%d.o" % i for i in range(files)))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--record", action="store_true",
                    help="also run --follow --per-allocation and record --follow")
    args = ap.parse_args()
    refuse_unless_alone(args.build, "follow")
    memstudy = os.path.join(args.build, "memstudy")
    d = tempfile.mkdtemp(prefix="memstudy-bench-follow-")
    project(d, args.files)
    # memstudy without --follow: its own start and stop (the children run untraced)
    # --probe-floor --follow: empty programs at the same places in every process (the floor)
    times = {"untraced": [], "memstudy": [], "memstudy --probe-floor --follow": [],
             "memstudy --follow": []}
    if args.record:
        times["memstudy --follow --per-allocation"] = []
        times["memstudy record --follow"] = []
    waits, procs, rec_sizes, report_s = [], [], [], []
    js = os.path.join(d, "report.json")
    rec = os.path.join(d, "bench.rec")
    try:
        for r in range(args.runs):
            for mode in times:
                subprocess.run(["make", "-C", d, "clean"], capture_output=True, check=True)
                cmd = ["make", "-C", d, "-j2"]
                if mode.startswith("memstudy record"):
                    cmd = [memstudy, "record"] + mode.split()[2:] + [
                        "--no-calibrate", "--json", js, "-o", rec, "--"] + cmd
                elif "--probe-floor" in mode:  # nothing counted: no report
                    cmd = [memstudy, "run"] + mode.split()[1:] + [
                        "--no-calibrate", "-o", "/dev/null", "--"] + cmd
                elif mode != "untraced":
                    cmd = [memstudy, "run"] + mode.split()[1:] + [
                        "--no-calibrate", "--json", js, "-o", "/dev/null", "--"] + cmd
                t0 = time.monotonic()
                p = subprocess.run(cmd, capture_output=True, text=True)
                times[mode].append(time.monotonic() - t0)
                if p.returncode:
                    sys.exit("follow: %s failed: %s" % (mode, p.stderr))
                if mode == "memstudy --follow":
                    with open(js) as f:
                        rep = json.load(f)
                    procs.append(len(rep["processes"]))
                    waits += [q["probes_attach_us"] for q in rep["processes"][1:]]
                if mode.startswith("memstudy record"):
                    rec_sizes.append(os.path.getsize(rec))
                    t0 = time.monotonic()
                    subprocess.run([memstudy, "report", "--json", js, "-o", "/dev/null", rec],
                                   capture_output=True, check=True)
                    report_s.append(time.monotonic() - t0)
    finally:
        shutil.rmtree(d, True)
    base = statistics.median(times["untraced"])
    print("make -j2 of %d files, median of %d runs:" % (args.files, args.runs))
    for mode, t in times.items():
        print("  %-34s %8.3f s  %5.2fx" % (mode, statistics.median(t), statistics.median(t) / base))
    floor = statistics.median(times["memstudy --probe-floor --follow"])
    print("--follow over its floor (empty programs at the same places): %.2fx"
          % (statistics.median(times["memstudy --follow"]) / floor))
    print("processes followed per build: %s" % sorted(set(procs)))
    print("each new process stopped for its probes: median %.0f us, max %.0f us (%d processes)"
          % (statistics.median(waits), max(waits), len(waits)))
    if rec_sizes:
        live = statistics.median(times["memstudy --follow --per-allocation"])
        print("record --follow over run --follow --per-allocation: %.2fx; recording %.1f MiB, "
              "report --json reads it in %.3f s (medians)"
              % (statistics.median(times["memstudy record --follow"]) / live,
                 statistics.median(rec_sizes) / 1048576, statistics.median(report_s)))


if __name__ == "__main__":
    main()
