#!/usr/bin/env python3
"""Per-call cost of malloc and free under memstudy, against the bare-probe floor.

Runs, interleaved in one session so machine drift hits every mode alike:
  untraced         bench_target alone
  floor            empty BPF programs at memstudy's probe points (memstudy --probe-floor)
  floor@entry      the same at each function's first instruction (--probe-at-entry)
  summary          memstudy's summary mode (counts, histograms, attribution)
  summary@entry    the same with every probe at the function entry
  per-allocation   --per-allocation: a ring-buffer record per call, stacks, the collector
and prints medians of --runs runs (each itself the median of --rounds loops of --calls
calls) and the ratios. Needs root. Usage: sudo bench/overhead.py [--build build]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

MODES = [
    ("untraced", None),
    ("floor", ["--probe-floor"]),
    ("floor@entry", ["--probe-floor", "--probe-at-entry"]),
    ("summary", []),
    ("summary@entry", ["--probe-at-entry"]),
    ("per-allocation", ["--per-allocation"]),
]


def foreign_probes(libc):
    """BPF programs on uprobes in LIBC that are not ours (bpftool perf lists them)."""
    out = subprocess.run(["bpftool", "-j", "perf"], capture_output=True, text=True).stdout
    try:
        return [e for e in json.loads(out or "[]") if e.get("filename") == libc]
    except json.JSONDecodeError:
        return []


def run_once(args, mode_args, build):
    target = [os.path.join(build, "bench", "bench_target"), str(args.calls), str(args.rounds)]
    if mode_args is None:
        cmd = target + ["--expect-untraced"]
    else:
        cmd = [os.path.join(build, "memstudy"), "run", "-o", "/dev/null"] + mode_args + \
            ["--"] + target
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode == 3:
        sys.exit("overhead: " + p.stderr.strip())
    if p.returncode:
        sys.exit("overhead: %s failed: %s" % (" ".join(cmd), p.stderr.strip()))
    f = p.stdout.split()
    return float(f[f.index("malloc_ns") + 1]), float(f[f.index("free_ns") + 1])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if os.geteuid():
        sys.exit("overhead: needs root (sudo) to load BPF")
    libc = os.path.realpath(os.path.join(args.build, "bench", "lib", "libc.so.6"))
    if foreign_probes(libc):
        sys.exit("overhead: someone else has uprobes on %s; not reporting" % libc)
    res = {m: ([], []) for m, _ in MODES}
    for r in range(args.runs):
        for mode, mode_args in MODES:
            m, f = run_once(args, mode_args, args.build)
            res[mode][0].append(m)
            res[mode][1].append(f)
        print("run %d/%d done" % (r + 1, args.runs), file=sys.stderr, flush=True)
    med = {m: (statistics.median(v[0]), statistics.median(v[1])) for m, v in res.items()}
    print("per-call cost, median of %d runs (ns)      malloc       free" % args.runs)
    for mode, _ in MODES:
        print("  %-38s %9.1f  %9.1f" % (mode, med[mode][0], med[mode][1]))
    print("ratios (same session)                       malloc       free")
    for a, b in [("summary", "floor"), ("per-allocation", "floor"),
                 ("per-allocation", "summary"), ("floor@entry", "floor"),
                 ("summary@entry", "summary"), ("floor", "untraced"), ("summary", "untraced")]:
        print("  %-38s %9.2f  %9.2f" % (a + " / " + b, med[a][0] / med[b][0],
                                          med[a][1] / med[b][1]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"medians_ns": med, "runs": res, "args": vars(args)}, fh, indent=1)


if __name__ == "__main__":
    main()
