"""Shared helpers for memstudy's tests: where the binaries are, running them, and the
rule that under CI=true a test that cannot load BPF fails instead of skipping."""
import json
import os
import subprocess
import sys
import unittest

BUILD = os.environ.get("MEMSTUDY_BUILD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
MEMSTUDY = os.path.join(BUILD, "memstudy")
WORKLOAD = os.path.join(BUILD, "memstudy-workload")
TARGETS = os.path.join(BUILD, "targets")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def target(name):
    """Path of a test target program built from tests/targets/NAME.c."""
    return os.path.join(TARGETS, "target-" + name)


def c_project(d, n):
    """N C files and a Makefile building them into D/prog with gcc: a make -j2 to follow
    (gcc, cc1 and as per file, then a link)."""
    for i in range(n):
        with open(os.path.join(d, "f%d.c" % i), "w") as f:
            f.write("#include <stdio.h>\nint f%d(int x) { return x * %d; }\n" % (i, i))
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write("OBJ = %s\nprog: $(OBJ)\n\tgcc -shared -o $@ $^\n"
                "%%.o: %%.c\n\tgcc -O2 -fPIC -c $< -o $@\n"
                % " ".join("f%d.o" % i for i in range(n)))


def need_bpf(testcase):
    """Skip (or, under CI, fail) when this machine cannot run BPF tracing."""
    why = None
    if os.geteuid() != 0:
        why = "tests that load BPF need root"
    elif not os.path.exists("/sys/kernel/btf/vmlinux"):
        why = "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
    if why:
        if IN_CI:
            testcase.fail(why + " (CI=true: failing, not skipping)")
        testcase.skipTest(why)


def run(args, **kw):
    """Run a command, capture text output, never raise on a non-zero exit."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 600)
    return subprocess.run(args, **kw)


def memstudy(args, **kw):
    return run([MEMSTUDY] + list(args), **kw)


def memstudy_json(args, testcase=None, **kw):
    """Run memstudy ARGS with --json to a temporary file; return (report, CompletedProcess).
    ARGS is either ["run", ..., "--", CMD...] or ["--pid", PID, ...]."""
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        args = list(args)
        at = 1 if args and args[0] == "run" else 0
        args[at:at] = ["--json", f.name, "-o", "/dev/null"]
        p = memstudy(args, **kw)
        if testcase is not None and p.returncode != 0 and args[0] != "run":
            testcase.fail("memstudy failed (%d): %s" % (p.returncode, p.stderr))
        f.seek(0)
        text = f.read().decode()
    if not text:
        if testcase is not None:
            testcase.fail("memstudy wrote no JSON (exit %d): %s" % (p.returncode, p.stderr))
        return None, p
    return json.loads(text), p


def free_port(kind=None):
    """A loopback port no one listens on now (TCP, or UDP with socket.SOCK_DGRAM)."""
    import socket
    with socket.socket(socket.AF_INET, kind or socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BPFTRACE = "/usr/bin/bpftrace"


def bpftrace_outermost(testcase, path, syms):
    """An independent count: bpftrace counting the outermost calls of SYMS in the file PATH
    (a call made inside another of them is part of it, as memstudy counts). bpftrace 0.17
    does not filter uprobes by pid, so PATH must be a private copy only the test's process
    maps. Returns the bpftrace process once its probes are in place (its BEGIN ran)."""
    enter = ",".join("uprobe:%s:%s" % (path, s) for s in syms)
    leave = ",".join("uretprobe:%s:%s" % (path, s) for s in syms)
    prog = ('BEGIN { printf("ready\\n"); }\n'
            '%s { if (@depth[tid] == 0) { @calls[probe] = count(); } @depth[tid]++; }\n'
            '%s { @depth[tid]--; }\n' % (enter, leave))
    bt = subprocess.Popen([BPFTRACE, "-f", "json", "-e", prog], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    testcase.addCleanup(lambda: bt.poll() is None and bt.kill())
    for line in bt.stdout:
        if '"ready' in line:
            return bt
    testcase.fail("bpftrace did not start: " + bt.stderr.read())


def bpftrace_counts(bt):
    """Stop bpftrace_outermost's process: {symbol: outermost calls}."""
    import signal
    for _ in range(10):  # a SIGINT bpftrace took while busy is not always its last
        bt.send_signal(signal.SIGINT)
        try:
            out, _ = bt.communicate(timeout=30)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        raise AssertionError("bpftrace did not stop on SIGINT")
    for line in out.splitlines():
        if line.startswith("{"):
            j = json.loads(line)
            if j.get("type") == "map" and "@calls" in j["data"]:
                return {k.rsplit(":", 1)[1]: v for k, v in j["data"]["@calls"].items()}
    return {}


def strace_count(cmd, syscalls):
    """Count syscalls made by CMD (all threads) with strace -f; returns {name: calls}."""
    out = run(["strace", "-f", "-qq", "-e", "trace=" + ",".join(syscalls), "-o", "/dev/stderr"]
              + list(cmd))
    counts = {s: 0 for s in syscalls}
    for line in out.stderr.splitlines():
        body = line.split(" ", 1)[1] if line[:1].isdigit() else line
        name = body.split("(", 1)[0].strip()
        if name in counts and "resumed>" not in body:
            counts[name] += 1
    return counts, out


def wait_threads_blocked(pid, syscall_nr=202, timeout=30, exclude=()):
    """Wait until every thread of PID but EXCLUDE is blocked in syscall SYSCALL_NR (futex,
    202, by default), as /proc/PID/task/TID/syscall shows; the threads the caller needs
    parked, and their stack pointers readable. Returns the tids; fails after TIMEOUT."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        tids, blocked = [], True
        for tid in os.listdir("/proc/%d/task" % pid):
            if int(tid) in exclude:
                continue
            tids.append(int(tid))
            try:
                with open("/proc/%d/task/%s/syscall" % (pid, tid)) as f:
                    fields = f.read().split()
            except OSError:
                fields = []
            if not fields or fields[0] != str(syscall_nr):
                blocked = False
        if blocked:
            return tids
        if time.monotonic() > deadline:
            raise AssertionError("threads of %d not all in syscall %d" % (pid, syscall_nr))
        time.sleep(0.005)  # polling a state the kernel shows: not a stand-in for it


def main():
    unittest.main(verbosity=2)
