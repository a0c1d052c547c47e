#!/usr/bin/env python3
"""Throughput under memstudy's summary mode: is any call lost at the highest rate we reach?

Runs bench/rate_target (T threads calling malloc(64)/free as fast as they can for S seconds)
under `memstudy run --json`, --runs times, and for each run prints the rate the target
reached (calls per second, traced) and whether memstudy's counts equal the target's own:
malloc = calls/2 + 1 (stdio's buffer), free = calls/2 + a few (libc frees each exiting
thread's cache). Needs root. Usage: sudo bench/rate.py [--threads 2] [--seconds 3] [--runs 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if os.geteuid():
        sys.exit("rate: needs root (sudo) to load BPF")
    target = os.path.join(args.build, "bench", "rate_target")
    rates, exact = [], True
    for r in range(args.runs):
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            p = subprocess.run([os.path.join(args.build, "memstudy"), "run", "-o", "/dev/null",
                                "--json", f.name, "--", target, str(args.threads),
                                str(args.seconds)], capture_output=True, text=True)
            if p.returncode:
                sys.exit("rate: memstudy failed: " + p.stderr.strip())
            rep = json.load(open(f.name))
        words = p.stdout.split()
        calls, rate = int(words[words.index("calls") + 1]), float(words[words.index("rate") + 1])
        fn = {k: v["calls"] for k, v in rep["functions"].items()}
        extra_free = fn["free"] - calls // 2
        ok = (rep["lost_events"] == 0 and fn["malloc"] == calls // 2 + 1 and
              0 <= extra_free <= 4 * args.threads + 4)
        exact &= ok
        rates.append(rate)
        print("run %d: %d calls, %.0f calls/s traced; memstudy: malloc %d, free %d, "
              "lost_events %d: %s" % (r + 1, calls, rate, fn["malloc"], fn["free"],
                                      rep["lost_events"], "exact" if ok else "MISMATCH"),
              flush=True)
    print("median rate %.0f calls/s over %d runs (%d threads); every count exact: %s" %
          (statistics.median(rates), args.runs, args.threads, "yes" if exact else "NO"))
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
