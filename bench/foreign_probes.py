"""Uprobes someone else placed on a file: they would add their cost to every call we time.

Uprobes belong to a file, so a benchmark that times calls into LIBC must refuse to report
while anyone else has probes on it. Two ways in: perf-event uprobes (bpftool perf lists
them with their file) and multi-uprobe links (bpftool 7.1 cannot decode them; the kernel
shows their file in the owning process's /proc/PID/fdinfo since 6.9).
"""
import json
import os
import re
import subprocess
import sys


def _perf_uprobes(path):
    out = subprocess.run(["bpftool", "-j", "perf"], capture_output=True, text=True).stdout
    try:
        return ["pid %s (bpftool perf)" % e.get("pid") for e in json.loads(out or "[]")
                if e.get("filename") == path]
    except json.JSONDecodeError:
        return []


def _multi_uprobes(path):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        fdinfo = "/proc/%s/fdinfo" % pid
        try:
            fds = os.listdir(fdinfo)
        except OSError:
            continue
        for fd in fds:
            try:
                with open(os.path.join(fdinfo, fd)) as f:
                    text = f.read()
            except OSError:
                continue
            if re.search(r"^link_type:\tu(ret)?probe_multi$", text, re.M) and \
                    ("path:\t%s\n" % path) in text:
                found.append("pid %s fd %s (multi-uprobe link)" % (pid, fd))
    return found


def foreign_probes(path):
    """Who has uprobes on PATH right now (call it while no memstudy of ours runs)."""
    path = os.path.realpath(path)
    return _perf_uprobes(path) + _multi_uprobes(path)


def refuse_unless_alone(build, who):
    """Exit unless we are root and nobody else probes the benchmarks' private libc."""
    if os.geteuid():
        sys.exit("%s: needs root (sudo) to load BPF" % who)
    libc = os.path.join(build, "bench", "lib", "libc.so.6")
    others = foreign_probes(libc)
    if others:
        sys.exit("%s: someone else has uprobes on %s (%s); not reporting" %
                 (who, os.path.realpath(libc), ", ".join(others)))
