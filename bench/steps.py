#!/usr/bin/env python3
"""What the probes on glibc's internal steps cost (issue 15): the worst case, a loop where
every malloc maps a 256 KiB chunk (sysmalloc) and every free unmaps it (munmap_chunk, whose
probe the kernel single-steps). bench/steps_target times its own loop; this runs it,
interleaved, untraced, under memstudy without the step probes (--no-glibc-steps) and with
them (the default), --runs times, and prints the medians of ns per malloc+free pair and
their differences: the step probes' cost per step hit. Needs root and libc6-dbg.
Usage: sudo bench/steps.py [--runs 5] [--calls 20000]
"""
import argparse
import os
import statistics
import subprocess
import sys

from foreign_probes import refuse_unless_alone

MODES = [("untraced", None), ("memstudy --no-glibc-steps", ["--no-glibc-steps"]),
         ("memstudy", [])]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=20000)
    args = ap.parse_args()
    refuse_unless_alone(args.build, "steps")
    target = [os.path.join(args.build, "bench", "steps_target"), str(args.calls)]
    res = {m: [] for m, _ in MODES}
    for r in range(args.runs):
        for mode, margs in MODES:
            cmd = target if margs is None else (
                [os.path.join(args.build, "memstudy"), "run", "-o", "/dev/null",
                 "--no-calibrate"] + margs + ["--"] + target)
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode:
                sys.exit("steps: %s failed: %s" % (mode, p.stderr))
            res[mode].append(float(p.stdout.split()[-1]))
        print("run %d/%d done" % (r + 1, args.runs), file=sys.stderr)
    med = {m: statistics.median(v) for m, v in res.items()}
    print("ns per malloc(256 KiB) + free pair, median of %d runs of %d pairs:"
          % (args.runs, args.calls))
    for m, _ in MODES:
        print("  %-26s %9.0f   (runs: %s)" % (m, med[m], " ".join("%.0f" % x for x in res[m])))
    d = med["memstudy"] - med["memstudy --no-glibc-steps"]
    print("step probes: +%.0f ns a pair (sysmalloc + munmap_chunk, one hit each), "
          "%.2fx the pair under memstudy without them" %
          (d, med["memstudy"] / med["memstudy --no-glibc-steps"]))
    print("commands: %s; memstudy run [--no-glibc-steps] -- same" % " ".join(target))


if __name__ == "__main__":
    main()
