#!/usr/bin/env python3
"""Does the target run at full speed again once memstudy detaches?

tests/targets/waiter.c spins on malloc/free and prints its calls per second every 0.2 s.
Each run measures, in one process: untraced, traced by memstudy --pid, and after memstudy
has let go; the ratios after/untraced and traced/untraced are per run, and the medians over
--runs runs are printed. (The test suite checks the mechanism exactly instead: no breakpoint
is left in the target's code, tests/test_trace_pid.py.) Needs root.
Usage: sudo bench/detach.py [--build build] [--runs 5]
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import time


def rates(w, k):
    """Median of the next K rates the waiter reports, measured after this call began."""
    since, got = time.monotonic(), []
    while len(got) < k:
        _, rate, _, at = w.stdout.readline().split()
        if float(at) > since + 0.2:
            got.append(float(rate))
    return statistics.median(got)


def one_run(build):
    w = subprocess.Popen([os.path.join(build, "targets", "target-waiter"), "10", "spin"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        w.stdout.readline()
        w.stdin.write("go\n")
        w.stdin.flush()
        rates(w, 2)
        untraced = rates(w, 5)
        t = subprocess.Popen([os.path.join(build, "memstudy"), "--pid", str(w.pid), "-o",
                              "/dev/null"], stderr=subprocess.PIPE, text=True)
        if "tracing PID" not in t.stderr.readline():
            sys.exit("detach: memstudy did not attach")
        rates(w, 2)
        traced = rates(w, 5)
        t.send_signal(signal.SIGINT)
        t.wait(timeout=60)
        rates(w, 2)
        after = rates(w, 5)
    finally:
        w.kill()
        w.wait()
    return untraced, traced, after


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("detach: needs root (sudo bench/detach.py)")
    rows = []
    for i in range(args.runs):
        u, t, a = one_run(args.build)
        rows.append((u, t, a))
        print("run %d: untraced %.0f calls/s, traced %.0f, after detach %.0f (after/untraced "
              "%.3f)" % (i + 1, u, t, a, a / u), flush=True)
    print("median over %d runs: traced/untraced %.4f, after/untraced %.3f" %
          (args.runs, statistics.median(t / u for u, t, _ in rows),
           statistics.median(a / u for u, _, a in rows)))


if __name__ == "__main__":
    main()
