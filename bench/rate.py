#!/usr/bin/env python3
"""Throughput under memstudy's summary mode: is any call lost at the highest rate we reach?

Runs bench/rate_target (T threads calling malloc(64)/free as fast as they can for S seconds)
under `memstudy run --json`, --runs times, and for each run prints the rate the target
reached (calls per second, traced) and whether memstudy's counts equal the target's own:
malloc = calls/2 + 1 (stdio's buffer), free = calls/2 + a few (libc frees each exiting
thread's cache). --floors also runs it, interleaved, under the empty-program floors
(memstudy --probe-floor, --probe-floor=uprobes) and untraced: the rate the probes alone
allow on this machine. Needs root.
--per-allocation runs it under `memstudy run --per-allocation` instead, the loop --depth
frames deep (default 16, no frame pointers), and checks the allocation records: none lost,
one per malloc, each stack --depth frames deep or more; it prints the collector's rate.
Usage: sudo bench/rate.py [--threads 2] [--seconds 3] [--runs 5] [--floors | --per-allocation]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from foreign_probes import refuse_unless_alone


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--floors", action="store_true",
                    help="also run, interleaved, the empty-program floors and untraced")
    ap.add_argument("--per-allocation", action="store_true",
                    help="per-allocation mode with stacks, the loop --depth frames deep")
    ap.add_argument("--depth", type=int, default=16)
    args = ap.parse_args()
    refuse_unless_alone(args.build, "rate")
    target = os.path.join(args.build, "bench", "rate_target")
    if args.per_allocation:
        return per_allocation(args, target)
    modes = [("summary", [])]
    if args.floors:
        modes += [("floor", ["--probe-floor"]), ("floor(uprobes)", ["--probe-floor=uprobes"]),
                  ("untraced", None)]
    rates, exact = {m: [] for m, _ in modes}, True
    for r in range(args.runs):
        for mode, margs in modes:
            tcmd = [target, str(args.threads), str(args.seconds)]
            if margs is None:
                p = subprocess.run(tcmd, capture_output=True, text=True)
                rep = None
            else:
                with tempfile.NamedTemporaryFile(suffix=".json") as f:
                    p = subprocess.run([os.path.join(args.build, "memstudy"), "run", "-o",
                                        "/dev/null", "--json", f.name] + margs + ["--"] + tcmd,
                                       capture_output=True, text=True)
                    if p.returncode:
                        sys.exit("rate: memstudy failed: " + p.stderr.strip())
                    rep = json.load(open(f.name)) if mode == "summary" else None
            words = p.stdout.split()
            calls, rate = int(words[words.index("calls") + 1]), float(words[words.index("rate") + 1])
            rates[mode].append(rate)
            if rep is None:
                print("run %d: %-15s %10.0f calls/s" % (r + 1, mode, rate), flush=True)
                continue
            fn = {k: v["calls"] for k, v in rep["functions"].items()}
            extra_free = fn["free"] - calls // 2
            ok = (rep["lost_events"] == 0 and fn["malloc"] == calls // 2 + 1 and
                  0 <= extra_free <= 4 * args.threads + 4)
            exact &= ok
            print("run %d: %-15s %10.0f calls/s; %d calls; memstudy: malloc %d, free %d, "
                  "lost_events %d: %s" % (r + 1, mode, rate, calls, fn["malloc"], fn["free"],
                                          rep["lost_events"], "exact" if ok else "MISMATCH"),
                  flush=True)
    for mode, _ in modes:
        print("median rate %-15s %10.0f calls/s over %d runs (%d threads)" %
              (mode, statistics.median(rates[mode]), args.runs, args.threads))
    print("every summary count exact: %s" % ("yes" if exact else "NO"))
    return 0 if exact else 1


def per_allocation(args, target):
    rates, collector, exact = [], [], True
    for r in range(args.runs):
        tcmd = [target, str(args.threads), str(args.seconds), str(args.depth)]
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            p = subprocess.run([os.path.join(args.build, "memstudy"), "run", "-o", "/dev/null",
                                "--json", f.name, "--per-allocation", "--"] + tcmd,
                               capture_output=True, text=True)
            if p.returncode:
                sys.exit("rate: memstudy failed: " + p.stderr.strip())
            rep = json.load(open(f.name))
        words = p.stdout.split()
        calls, rate = int(words[words.index("calls") + 1]), float(words[words.index("rate") + 1])
        pa = rep["per_allocation"]
        site = max(pa["sites"], key=lambda s: s["allocations"])
        deep = sum(1 for fr in site["frames"] if fr == "spin_at")
        allocs_rate = calls / 2 / args.seconds
        recs = pa["collector"]["records"] / rep["duration_s"]
        ok = (rep["lost_events"] == 0 and site["allocations"] == calls // 2 and
              deep >= args.depth and pa["stacks"]["unwound"] >= calls // 2)
        exact &= ok
        rates.append(allocs_rate)
        collector.append(recs)
        print("run %d: %9.0f allocations/s (%d threads), stacks %d frames (%d spin_at), "
              "lost_events %d, collector %.0f records/s over the run: %s"
              % (r + 1, allocs_rate, args.threads, len(site["frames"]), deep,
                 rep["lost_events"], recs, "exact" if ok else "MISMATCH"), flush=True)
    print("median %.0f allocations/s with %d-frame stacks, collector %.0f records/s, over %d "
          "runs; every run exact: %s" % (statistics.median(rates), args.depth,
                                         statistics.median(collector), args.runs,
                                         "yes" if exact else "NO"))
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
