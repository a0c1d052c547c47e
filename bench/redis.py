#!/usr/bin/env python3
"""A traced redis (issue 16): Debian's redis-server on jemalloc, on a free loopback port
with persistence off, served `redis-benchmark -t set -n N -c 4 -P 1` interleaved untraced,
under `memstudy run --probe-floor` (empty programs at memstudy's probe points), under
`memstudy run --probe-at-entry` (every probe at its function's first instruction: jemalloc's
free single-stepped, as memstudy probed it before its probes moved) and under `memstudy run`
(its defaults), --runs times each. Prints the median SET/s of each and the ratios to
untraced. Needs root, redis-server and redis-tools.
Usage: sudo bench/redis.py [--runs 5] [--sets 100000]
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time

from foreign_probes import refuse_unless_alone

MODES = [("untraced", None), ("floor", ["--probe-floor"]),
         ("memstudy --probe-at-entry", ["--probe-at-entry"]), ("memstudy", [])]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True,
                          text=True, timeout=60).stdout


def one(memstudy, margs, sets):
    port = free_port()
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no"]
    if margs is not None:
        cmd = [memstudy, "run", "--no-calibrate", "-o", "/dev/null"] + margs + ["--"] + cmd
    srv = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while cli(port, "ping").strip() != "PONG":
            if srv.poll() is not None or time.monotonic() > deadline:
                sys.exit("redis: the server did not start")
            time.sleep(0.05)
        b = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(sets),
                            "-c", "4", "-P", "1", "-r", "100000", "-q"], capture_output=True,
                           text=True, timeout=600)
        # after the progress lines: "SET: 41152.26 requests per second, p50=..."
        rate = float(re.findall(r"SET: ([0-9.]+) requests per second", b.stdout)[-1])
        cli(port, "shutdown", "nosave")
        srv.wait(timeout=120)
        return rate
    finally:
        if srv.poll() is None:
            srv.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sets", type=int, default=100000)
    args = ap.parse_args()
    refuse_unless_alone(args.build, "redis")
    memstudy = os.path.join(args.build, "memstudy")
    res = {m: [] for m, _ in MODES}
    for r in range(args.runs):
        for mode, margs in MODES:
            res[mode].append(one(memstudy, margs, args.sets))
    base = statistics.median(res["untraced"])
    print("redis-benchmark -t set -n %d -c 4, median of %d runs:" % (args.sets, args.runs))
    for mode, _ in MODES:
        m = statistics.median(res[mode])
        print("  %-26s %10.0f SET/s  %5.2f of untraced" % (mode, m, m / base))


if __name__ == "__main__":
    main()
