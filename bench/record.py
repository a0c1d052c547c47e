#!/usr/bin/env python3
"""What recording costs (issue 18): bench/rate_target (T threads calling malloc(64)/free as
fast as they can for S seconds, D frames deep, no frame pointers) interleaved untraced,
under `memstudy run --per-allocation` and under `memstudy record`, --runs times each.
Prints, as medians: the call rate each reached (recording against per-allocation mode: the
issue's bound is +10 %), the allocations recorded per second and the records lost, the
bytes on disk per allocation+free pair, and how fast `memstudy report` reads the recording
back (records per second, wall time of the whole report). --workload also records
memstudy-workload churn (varied sizes, real stacks) for its bytes per pair. Needs root.
Usage: sudo bench/record.py [--runs 5] [--threads 1] [--seconds 3] [--depth 16]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from foreign_probes import refuse_unless_alone


def rate_of(stdout):
    words = stdout.split()
    return int(words[words.index("calls") + 1]), float(words[words.index("rate") + 1])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--depth", type=int, default=16)
    ap.add_argument("--churn", type=int, default=300000,
                    help="blocks of memstudy-workload churn recorded for bytes per pair")
    args = ap.parse_args()
    refuse_unless_alone(args.build, "record")
    memstudy = os.path.join(args.build, "memstudy")
    target = [os.path.join(args.build, "bench", "rate_target"), str(args.threads),
              str(args.seconds), str(args.depth)]
    d = tempfile.mkdtemp(prefix="memstudy-bench-record-")
    rec, js = os.path.join(d, "r.rec"), os.path.join(d, "r.json")
    modes = {"untraced": [], "per-allocation": [], "record": []}
    lost, allocs_s, per_pair, read_rate, read_s = [], [], [], [], []
    try:
        for r in range(args.runs):
            for mode in modes:
                if os.path.exists(rec):
                    os.unlink(rec)
                cmd = list(target)
                if mode == "per-allocation":
                    cmd = [memstudy, "run", "--per-allocation", "--no-calibrate", "--json", js,
                           "-o", "/dev/null", "--"] + cmd
                elif mode == "record":
                    cmd = [memstudy, "record", "-o", rec, "--no-calibrate", "--json", js,
                           "--"] + cmd
                p = subprocess.run(cmd, capture_output=True, text=True)
                if p.returncode:
                    sys.exit("record: %s failed: %s" % (mode, p.stderr))
                calls, rate = rate_of(p.stdout)
                modes[mode].append(rate)
                if mode == "untraced":
                    continue
                with open(js) as f:
                    rep = json.load(f)
                lost.append(rep["lost_events"])
                if mode != "record":
                    continue
                allocs = rep["per_allocation"]["allocations"]
                allocs_s.append(allocs / args.seconds)
                per_pair.append(os.path.getsize(rec) / allocs)
                hdr = subprocess.run([memstudy, "report", "--header", rec], capture_output=True,
                                     text=True)
                records = int(re.search(r"records:\s+(\d+)", hdr.stdout).group(1))
                t0 = time.monotonic()
                q = subprocess.run([memstudy, "report", "-o", "/dev/null", rec],
                                   capture_output=True, text=True)
                t = time.monotonic() - t0
                if q.returncode:
                    sys.exit("record: report failed: %s" % q.stderr)
                read_s.append(t)
                read_rate.append(records / t)
                print("run %d: %d allocations recorded, %.1f MiB, %d records read in %.2f s"
                      % (r + 1, allocs, os.path.getsize(rec) / 1048576, records, t), flush=True)
        churn = None
        if args.churn:
            if os.path.exists(rec):
                os.unlink(rec)
            p = subprocess.run([memstudy, "record", "-o", rec, "--no-calibrate", "--json", js,
                                "--", os.path.join(args.build, "memstudy-workload"), "churn",
                                "--count", str(args.churn)], capture_output=True, text=True)
            if p.returncode:
                sys.exit("record: churn failed: %s" % p.stderr)
            with open(js) as f:
                rep = json.load(f)
            churn = (os.path.getsize(rec) / rep["per_allocation"]["allocations"],
                     rep["lost_events"])
    finally:
        shutil.rmtree(d, True)
    base = statistics.median(modes["untraced"])
    pa = statistics.median(modes["per-allocation"])
    print("rate_target %d thread(s), %.0f s, %d frames deep; medians of %d runs:"
          % (args.threads, args.seconds, args.depth, args.runs))
    for mode, v in modes.items():
        m = statistics.median(v)
        print("  %-16s %12.0f calls/s  %5.2fx untraced's time  %5.2fx per-allocation's"
              % (mode, m, base / m, pa / m))
    print("recorded: %.0f allocations/s, lost_events max %d" % (statistics.median(allocs_s),
                                                                max(lost)))
    print("on disk: %.2f bytes per allocation+free pair (one stack)" % statistics.median(per_pair))
    if churn:
        print("on disk: %.2f bytes per pair for churn --count %d (lost_events %d)"
              % (churn[0], args.churn, churn[1]))
    print("report reads %.2f million records/s (%.2f s for the whole report)"
          % (statistics.median(read_rate) / 1e6, statistics.median(read_s)))


if __name__ == "__main__":
    main()
