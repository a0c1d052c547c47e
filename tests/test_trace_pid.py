"""memstudy --pid: attach to a running process, compare with /proc, stop cleanly, detach."""
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
import unittest

from memtest import MEMSTUDY, need_bpf, target, main


def proc_faults(pid):
    """minflt + majflt of a process, from /proc/PID/stat (the kernel's own count)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[7]) + int(fields[9])


class Waiter:
    """tests/targets/waiter.c, driven line by line."""

    def __init__(self, *args):
        self.p = subprocess.Popen([target("waiter")] + list(args), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        assert line.startswith("ready"), line
        self.pid = self.p.pid

    def go(self):
        self.p.stdin.write("go\n")
        self.p.stdin.flush()

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        self.p.stdin.close()
        self.p.stdout.close()


class Tracer:
    """memstudy --pid PID in the background, ready once it says it is tracing."""

    def __init__(self, pid, *extra):
        self.json = tempfile.NamedTemporaryFile(suffix=".json")
        self.p = subprocess.Popen([MEMSTUDY, "--pid", str(pid), "--json", self.json.name]
                                  + list(extra), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        line = self.p.stderr.readline()
        if "tracing PID" not in line:
            self.p.kill()
            raise AssertionError("memstudy did not attach: " + line + self.p.stderr.read())

    def stop(self, sig=signal.SIGINT, timeout=30):
        if sig is not None:
            self.p.send_signal(sig)
        out, err = self.p.communicate(timeout=timeout)
        self.json.seek(0)
        rep = json.loads(self.json.read().decode() or "null")
        self.json.close()
        return self.p.returncode, out, err, rep


class TracePid(unittest.TestCase):
    def setUp(self):
        need_bpf(self)

    def test_attach_counts_match_program_and_proc(self):
        n = 3000
        w = Waiter(str(n))
        try:
            t = Tracer(w.pid)
            before = proc_faults(w.pid)
            w.go()
            self.assertEqual(w.p.stdout.readline().strip(), "done %d" % n)
            after = proc_faults(w.pid)
            rc, out, err, rep = t.stop()
        finally:
            w.close()
        self.assertEqual(rc, 0, err)
        self.assertEqual(rep["target"]["pid"], w.pid)
        self.assertEqual(rep["target"]["comm"], "target-waiter")
        self.assertFalse(rep["target"]["exited"])
        self.assertEqual(rep["functions"]["malloc"]["calls"], n)
        self.assertEqual(rep["functions"]["free"]["calls"], n)
        self.assertEqual(rep["functions"]["malloc"]["bytes"], 4096 * n)
        # every fault the kernel counted in the window, and no more
        pf = rep["page_faults"]
        self.assertEqual(pf["user"] + pf["kernel_on_user"], after - before)
        self.assertGreaterEqual(after - before, n)  # each 4 KiB block touches a new page
        self.assertIn("Allocator calls", out)

    def test_target_exit_ends_trace_with_report(self):
        w = Waiter("100")
        try:
            t = Tracer(w.pid)
            w.go()
            w.p.stdout.readline()
            w.go()  # second line: the waiter exits
            rc, out, err, rep = t.stop(sig=None)
        finally:
            w.close()
        self.assertEqual(rc, 0, err)
        self.assertTrue(rep["target"]["exited"])
        self.assertEqual(rep["functions"]["malloc"]["calls"], 100)
        self.assertIn("until it exited", out)

    def test_duration_and_interval(self):
        w = Waiter("10", "spin")
        try:
            w.go()
            t = Tracer(w.pid, "--duration", "1.5", "--interval", "0.5")
            rc, out, err, rep = t.stop(sig=None)
        finally:
            w.close()
        self.assertEqual(rc, 0, err)
        self.assertGreaterEqual(err.count("allocs/s"), 2, err)
        self.assertGreater(rep["functions"]["malloc"]["calls"], 1000)
        self.assertLess(abs(rep["duration_s"] - 1.5), 0.5)
        self.assertEqual(rep["lost_events"], 0)

    def test_detach_restores_full_speed(self):
        """Full speed is no breakpoint left: every probed instruction of the target's
        allocator reads 0xcc (int3) while traced and its own byte again after memstudy
        lets go, and nothing else in the code changed. (The speeds themselves are a
        benchmark: bench/detach.py.)"""
        w = Waiter("10", "spin")
        try:
            w.go()
            w.p.stdout.readline()  # spinning
            t = Tracer(w.pid)
            # the target's next full report interval ran traced: calls were counted
            since = time.monotonic()
            while float(w.p.stdout.readline().split()[3]) < since + 0.2:
                pass
            traced = read_text(w.pid)
            rc, _, err, rep = t.stop()
            self.assertEqual(rc, 0, err)
            after = read_text(w.pid)
        finally:
            w.close()
        self.assertGreater(rep["functions"]["free"]["calls"], 0)
        path = os.path.realpath(rep["target"]["allocator"])
        with open(path, "rb") as f:
            original = f.read()
        sites = [p["file_offset"] for p in rep["overhead"]["probes"].values()]
        self.assertGreaterEqual(len(sites), 9)
        # glibc's internal steps are probed in the same file (libc6-dbg)
        sites += [p["file_offset"] for p in rep["overhead"]["step_probes"].values()]
        seen = 0
        for (file_off, data_t), (_, data_a) in zip(traced[path], after[path]):
            for site in sites:
                if file_off <= site < file_off + len(data_t):
                    self.assertEqual(data_t[site - file_off], 0xcc, hex(site))
                    seen += 1
            self.assertEqual(data_a, original[file_off:file_off + len(data_a)],
                             "after detach the code is the file's own")
            diff = [i for i in range(len(data_t)) if data_t[i] != data_a[i]]
            self.assertEqual(sorted(file_off + i for i in diff),
                             sorted(s for s in sites if file_off <= s < file_off + len(data_t)))
        self.assertEqual(seen, len(sites))


def read_text(pid):
    """The executable mappings of PID as {path: [(file offset, bytes)]} from /proc/PID/mem."""
    out = {}
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            f = line.split()
            if len(f) < 6 or "x" not in f[1] or not f[5].startswith("/"):
                continue
            start, end = (int(x, 16) for x in f[0].split("-"))
            mem.seek(start)
            out.setdefault(os.path.realpath(f[5]), []).append((int(f[2], 16),
                                                               mem.read(end - start)))
    return out

if __name__ == "__main__":
    main()
