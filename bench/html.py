#!/usr/bin/env python3
"""What the HTML page costs (issue 19): two recordings made once - a million allocations
and frees (memstudy-workload churn --count 1000000) and a real program with thousands of
call sites (python3 building and dumping a dict) - then, --runs times each, interleaved:
the time `memstudy report --json` and `memstudy report --html` take on them (the page's
extra cost, as a ratio of the JSON report's), the page's size against its JSON's, and the
time Debian's chromium (headless) takes to draw the page, from navigation start to the
end of its last view (memstudyPage.drawnMs), with the share of each view. Medians. Needs
root (to record).
Usage: sudo bench/html.py [--runs 5]
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

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "lib"))
from browser import Browser  # noqa: E402

PYTHON_PROGRAM = ("import json\nd = {str(i): [i] * 40 for i in range(100000)}\n"
                  "s = json.dumps(d)\n")


def timed(cmd):
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit("%s failed: %s" % (" ".join(cmd), p.stderr))
    return time.monotonic() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    memstudy = os.path.join(args.build, "memstudy")
    d = tempfile.mkdtemp(prefix="memstudy-bench-html-")
    try:
        cases = {
            "churn 1e6": [os.path.join(args.build, "memstudy-workload"), "churn", "--count",
                          "1000000", "--size", "64"],
            "python3": [sys.executable, "-c", PYTHON_PROGRAM],
        }
        for name, cmd in cases.items():
            rec = os.path.join(d, name.replace(" ", "_") + ".rec")
            subprocess.run([memstudy, "record", "-o", rec, "--"] + cmd, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("%-10s %8s %8s %7s %9s %9s %9s %8s  %s" % (
            "recording", "sites", "json s", "html s", "html/json", "JSON MiB", "page MiB",
            "draw ms", "slowest views (ms)"))
        for name in cases:
            rec = os.path.join(d, name.replace(" ", "_") + ".rec")
            js, html = rec + ".json", rec + ".html"
            t_json, t_html, drawn, views = [], [], [], {}
            for _ in range(args.runs):
                for f in (js, html):
                    if os.path.exists(f):
                        os.unlink(f)
                t_json.append(timed([memstudy, "report", "--json", js, "-o", "/dev/null", rec]))
                t_html.append(timed([memstudy, "report", "--html", html, rec]))
                b = Browser()
                try:
                    b.open(html)
                    b.wait_for("document.body.dataset.drawn === '1'")
                    drawn.append(b.eval("memstudyPage.drawnMs"))
                    for k, v in b.eval("memstudyPage.timings").items():
                        views.setdefault(k, []).append(v)
                finally:
                    b.close()
            with open(js) as f:
                sites = len(json.load(f)["per_allocation"]["sites"])
            med = {k: statistics.median(v) for k, v in views.items()}
            top = sorted(med.items(), key=lambda kv: -kv[1])[:3]
            print("%-10s %8d %8.3f %7.3f %9.2f %9.2f %9.2f %8.0f  %s" % (
                name, sites, statistics.median(t_json), statistics.median(t_html),
                statistics.median(t_html) / statistics.median(t_json),
                os.path.getsize(js) / 2**20, os.path.getsize(html) / 2**20,
                statistics.median(drawn), ", ".join("%s %.0f" % kv for kv in top)))
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
