#!/usr/bin/env python3
"""Per-call cost of malloc and free under memstudy, against the bare-probe floor.

Runs, interleaved in one session so machine drift hits every mode alike:
  untraced         bench_target alone
  floor            empty BPF programs at every probe point memstudy uses: allocator uprobes,
                   syscall and fault tracepoints, major-fault events (memstudy --probe-floor)
  floor(uprobes)   empty programs at the allocator's uprobes only (--probe-floor=uprobes):
                   floor / floor(uprobes) is what the kernel-side probe points cost a call
  floor@entry      the same at each function's first instruction (--probe-at-entry)
  summary          memstudy's summary mode (counts, histograms, attribution), with its
                   defaults: the 10 slowest calls per function, syscall stacks, glibc's
                   internal steps, per-thread numbers, glibc's own calls apart
  summary(bare)    the same without slowest calls, syscall stacks and internal steps
  summary@entry    the same with every probe at the function entry
  per-allocation   --per-allocation: a ring-buffer record per call carrying the top of the
                   stack for the collector to unwind with the code's CFI (the default,
                   --unwind copy), the collector
  per-allocation(fp)      the same, stacks from frame pointers alone (--unwind fp)
  per-allocation(kernel)  the same, the frames walked in the kernel from CFI rows in BPF
                   maps (--unwind kernel)
and prints medians of --runs runs and the ratios, twice: from each run's median round, and
from each run's lower-quartile round (of --rounds loops of --calls calls). This VM has busy
spells lasting seconds that slow every mode by ~15 %; a run that falls in one moves the
medians, while the lower quartile measures each mode in the quiet state. The target runs on
the last CPU, memstudy on the first. Needs root. Usage: sudo bench/overhead.py [--build build]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

from foreign_probes import refuse_unless_alone

MODES = [
    ("untraced", None),
    ("floor", ["--probe-floor"]),
    ("floor(uprobes)", ["--probe-floor=uprobes"]),
    ("floor@entry", ["--probe-floor", "--probe-at-entry"]),
    ("summary", []),
    ("summary(bare)", ["--slowest", "0", "--no-syscall-stacks", "--no-glibc-steps"]),
    ("summary@entry", ["--probe-at-entry"]),
    ("per-allocation", ["--per-allocation"]),
    ("per-allocation(fp)", ["--per-allocation", "--unwind", "fp"]),
    ("per-allocation(kernel)", ["--per-allocation", "--unwind", "kernel"]),
]
RATIOS = [("summary", "floor"), ("summary", "summary(bare)"), ("summary(bare)", "floor"), ("per-allocation", "floor"), ("per-allocation", "summary"),
          ("per-allocation", "per-allocation(fp)"), ("per-allocation(fp)", "floor"),
          ("per-allocation(kernel)", "floor"), ("per-allocation(kernel)", "per-allocation(fp)"),
          ("floor", "floor(uprobes)"), ("summary", "floor(uprobes)"),
          ("per-allocation", "floor(uprobes)"), ("floor@entry", "floor"),
          ("summary@entry", "summary"), ("floor", "untraced"), ("summary", "untraced")]


def run_once(args, mode_args, build):
    ncpu = os.cpu_count() or 1
    target = [os.path.join(build, "bench", "bench_target"), str(args.calls), str(args.rounds),
              "--cpu=%d" % (ncpu - 1), "--depth=%d" % args.depth]
    if mode_args is None:
        cmd = target + ["--expect-untraced"]
    else:
        cmd = ["taskset", "-c", "0", os.path.join(build, "memstudy"), "run", "-o",
               "/dev/null"] + mode_args + ["--"] + target
    env = dict(os.environ, LD_PRELOAD=args.preload) if args.preload else None
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode == 3:
        sys.exit("overhead: " + p.stderr.strip())
    if p.returncode:
        sys.exit("overhead: %s failed: %s" % (" ".join(cmd), p.stderr.strip()))
    f = p.stdout.split()
    return tuple(float(f[f.index(k) + 1])
                 for k in ("malloc_ns", "free_ns", "malloc_q1_ns", "free_q1_ns"))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=50000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--depth", type=int, default=0,
                    help="the malloc loop this many frames deep (per-allocation stacks unwind"
                    " them; 8 is the stacks benchmark)")
    ap.add_argument("--modes", help="comma-separated subset of the modes (default: all)")
    ap.add_argument("--preload", help="another allocator for the target (LD_PRELOAD), e.g. "
                    "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2: its cost against its floor")
    args = ap.parse_args()
    modes = MODES
    if args.modes:
        want = args.modes.split(",")
        unknown = [m for m in want if m not in dict(MODES)]
        if unknown:
            sys.exit("overhead: unknown mode %s; the modes: %s"
                     % (", ".join(unknown), ", ".join(m for m, _ in MODES)))
        modes = [m for m in MODES if m[0] in want]
    refuse_unless_alone(args.build, "overhead")
    res = {m: ([], [], [], []) for m, _ in modes}
    for r in range(args.runs):
        for mode, mode_args in modes:
            for i, v in enumerate(run_once(args, mode_args, args.build)):
                res[mode][i].append(v)
        print("run %d/%d done" % (r + 1, args.runs), file=sys.stderr, flush=True)
    med = {m: [statistics.median(x) for x in v] for m, v in res.items()}
    for title, col in (("each run's median round", 0), ("each run's lower-quartile round", 2)):
        print("\nper-call cost (ns), median over %d runs of %s" % (args.runs, title))
        print("  %-38s %9s  %9s" % ("", "malloc", "free"))
        for mode, _ in modes:
            print("  %-38s %9.1f  %9.1f" % (mode, med[mode][col], med[mode][col + 1]))
        print("  ratios (same session)")
        for a, b in [(a, b) for a, b in RATIOS if a in med and b in med]:
            print("  %-38s %9.2f  %9.2f" % (a + " / " + b, med[a][col] / med[b][col],
                                              med[a][col + 1] / med[b][col + 1]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"columns": ["malloc", "free", "malloc_q1", "free_q1"],
                       "medians_ns": med, "runs": res, "args": vars(args)}, fh, indent=1)


if __name__ == "__main__":
    main()
