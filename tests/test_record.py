"""memstudy record / memstudy report: a recording read back gives the trace's own report
(the JSON memstudy record --json wrote, key for key), in --pid mode and with each way of
unwinding; the leaks of a C++ program against its own counts; pprof read by go tool pprof;
folded stacks against the per-allocation totals; a recording cut short by kill -9, and files
that are not recordings."""
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from memtest import MEMSTUDY, WORKLOAD, need_bpf, target, memstudy, run, main

GO = shutil.which("go") or "/usr/bin/go"


class Recording:
    """A temporary directory with memstudy record's file and its --json."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="memstudy-rec.")
        self.rec = os.path.join(self.dir, "t.rec")
        self.live = os.path.join(self.dir, "live.json")

    def path(self, name):
        return os.path.join(self.dir, name)

    def record(self, testcase, args, cmd=None, expect_rc=0):
        p = memstudy(["record", "-o", self.rec, "--json", self.live] + list(args)
                     + (["--"] + list(cmd) if cmd else []))
        testcase.assertEqual(p.returncode, expect_rc, p.stdout + p.stderr)
        testcase.assertIn("recorded", p.stderr)
        return p

    def report(self, *args):
        return memstudy(["report"] + list(args) + [self.rec])

    def report_json(self, testcase, *args):
        out = self.path("report.json")
        if os.path.exists(out):
            os.unlink(out)
        p = self.report("--json", out, "-o", "/dev/null", *args)
        testcase.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            return json.load(f)

    def live_json(self):
        with open(self.live) as f:
            return json.load(f)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def first_difference(a, b, path=""):
    """Where two JSON values differ first, for a readable failure."""
    if type(a) != type(b):
        return "%s: %r vs %r" % (path, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s/%s: only in %s" % (path, k, "the trace" if k in a else "the report")
            d = first_difference(a[k], b[k], path + "/" + k)
            if d:
                return d
    elif isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d vs %d items" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, "%s[%d]" % (path, i))
            if d:
                return d
    elif a != b:
        return "%s: %r vs %r" % (path, a, b)
    return None


class ReportIsTheTrace(unittest.TestCase):
    """The report of a recording has the trace's numbers: its JSON is the JSON the trace
    wrote, key for key."""

    def setUp(self):
        need_bpf(self)
        self.r = Recording()

    def tearDown(self):
        self.r.close()

    def check_same(self):
        live, back = self.r.live_json(), self.r.report_json(self)
        self.assertIsNone(first_difference(live, back))
        return live

    def test_run_mode(self):
        self.r.record(self, [], [WORKLOAD, "churn", "--count", "20000"])
        live = self.check_same()
        self.assertEqual(live["functions"]["malloc"]["calls"] >= 20000, True)
        self.assertEqual(live["per_allocation"]["allocations"] >= 20000, True)
        # the text report of the recording is the one run prints
        p = self.r.report()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Allocator calls", p.stdout)
        self.assertIn("Per allocation:", p.stdout)

    def test_exit_status_passes_through(self):
        self.r.record(self, [], ["/bin/sh", "-c", "exit 3"], expect_rc=3)
        self.check_same()

    def test_unwind_kernel(self):
        self.r.record(self, ["--unwind", "kernel"], [target("unw_chain")])
        live = self.check_same()
        self.assertGreater(len(live["per_allocation"]["sites"]), 0)

    def test_unwind_fp(self):
        self.r.record(self, ["--unwind", "fp"], [WORKLOAD, "churn", "--count", "5000"])
        self.check_same()

    def test_pid_mode(self):
        w = subprocess.Popen([target("waiter"), "3000"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        try:
            self.assertTrue(w.stdout.readline().startswith("ready"))
            m = subprocess.Popen([MEMSTUDY, "record", "-o", self.r.rec, "--json", self.r.live,
                                  "--pid", str(w.pid)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            line = m.stderr.readline()
            self.assertIn("tracing PID", line)
            w.stdin.write("go\n")
            w.stdin.flush()
            self.assertEqual(w.stdout.readline().strip(), "done 3000")
            w.stdin.write("exit\n")
            w.stdin.flush()
            w.wait(timeout=60)
            out, err = m.communicate(timeout=120)
            self.assertEqual(m.returncode, 0, err)
        finally:
            if w.poll() is None:
                w.kill()
            w.wait()
            w.stdin.close()
            w.stdout.close()
        live = self.check_same()
        self.assertGreaterEqual(live["functions"]["malloc"]["calls"], 3000)
        self.assertGreaterEqual(live["per_allocation"]["frees"], 3000)


class Leaks(unittest.TestCase):
    """tests/targets/leaks.cpp says what it leaked; report --leaks finds exactly that, the
    runtimes' own blocks apart, a suppression honoured."""

    @classmethod
    def setUpClass(cls):
        cls.r = Recording()
        if os.geteuid() != 0:
            return
        p = memstudy(["record", "-o", cls.r.rec, "--json", cls.r.live, "--",
                      target("leaks"), "20"])
        cls.rc, cls.out, cls.err = p.returncode, p.stdout, p.stderr

    @classmethod
    def tearDownClass(cls):
        cls.r.close()

    def setUp(self):
        need_bpf(self)
        self.assertEqual(self.rc, 0, self.err)
        m = re.search(r"leaked: (.*)", self.out)
        self.truth = dict(kv.split("=") for kv in m.group(1).split())
        self.truth = {k: int(v) for k, v in self.truth.items()}

    def leaks(self, *args):
        out = self.r.path("leaks.json")
        if os.path.exists(out):
            os.unlink(out)
        p = self.r.report("--leaks", "--json", out, *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            return json.load(f)

    @staticmethod
    def site(leaks, function, kind=None):
        found = [s for s in leaks["sites"]
                 if any(function in fr for fr in s["frames"]) and (kind is None or s["kind"] == kind)]
        return found

    def test_program_leaks_are_the_programs_counts(self):
        j = self.leaks()
        t = self.truth
        aligned = self.site(j, "leak_aligned", "program")
        self.assertEqual(len(aligned), 1, aligned)
        self.assertEqual(aligned[0]["blocks"], t["aligned"])
        self.assertEqual(aligned[0]["bytes"], t["aligned_bytes"])
        # each block written whole: every page of it faulted in, as mincore() saw
        self.assertEqual(aligned[0]["resident_pages"], t["aligned_resident_pages"])
        vec = [s for s in self.site(j, "leak_vectors", "program")]
        self.assertEqual(sorted(s["bytes"] for s in vec), [t["vectors"] * 24, t["vector_bytes"]])
        self.assertEqual([s["blocks"] for s in vec], [t["vectors"], t["vectors"]])
        sup = self.site(j, "suppressed_leak", "program")
        self.assertEqual([(s["blocks"], s["bytes"]) for s in sup], [(t["suppressed"], 300)])
        # nothing else of the program's is left
        self.assertEqual(j["program"]["blocks"],
                         t["aligned"] + 2 * t["vectors"] + t["suppressed"], j["sites"])

    def test_runtime_blocks_are_apart(self):
        j = self.leaks()
        owners = {s["runtime"] for s in j["sites"] if s["kind"] == "runtime"}
        self.assertIn("a stdio buffer", owners)
        self.assertTrue(any("emergency exception pool" in o for o in owners), owners)
        self.assertIn("a thread's TLS (dynamic thread vector)", owners)
        self.assertIn("the dynamic loader's bookkeeping (dlopen)", owners)
        self.assertTrue(any("timezone" in o for o in owners), owners)

    def test_suppressions(self):
        supp = self.r.path("lsan.supp")
        with open(supp, "w") as f:
            f.write("# LeakSanitizer's format\nleak:suppressed_leak\nleak:^leak_aligned()$\n")
        j = self.leaks("--suppressions", supp)
        sup = [s for s in j["sites"] if s["kind"] == "suppressed"]
        self.assertEqual(sorted(s["suppressed_by"] for s in sup),
                         ["leak:^leak_aligned()$", "leak:suppressed_leak"])
        self.assertEqual(j["suppressed"]["blocks"], self.truth["aligned"] + 3)
        # and the text says which are whose
        p = self.r.report("--leaks", "--suppressions", supp)
        self.assertIn("Suppressed (--suppressions)", p.stdout)
        self.assertIn("Kept by the C and C++ runtimes", p.stdout)

    def test_pprof_read_by_go_tool_pprof(self):
        if not os.path.exists(GO):
            self.fail("go is not installed (build.sh installs golang-go)")
        prof = self.r.path("heap.pb.gz")
        p = self.r.report("--pprof", prof)
        self.assertEqual(p.returncode, 0, p.stderr)
        env = dict(os.environ, HOME=self.r.dir, GOCACHE=self.r.path("gocache"))
        raw = run([GO, "tool", "pprof", "-raw", prof], env=env)
        self.assertEqual(raw.returncode, 0, raw.stderr)
        self.assertIn("alloc_objects/count alloc_space/bytes inuse_objects/count "
                      "inuse_space/bytes[dflt] page_faults/count resident_bytes/bytes",
                      raw.stdout)
        # each sample's values: the sites of the per-allocation report, exactly
        live = self.r.live_json()["per_allocation"]
        samples = [list(map(int, m.group(1).split()))
                   for m in re.finditer(r"^\s+((?:\d+\s+){5}\d+):", raw.stdout, re.M)]
        self.assertEqual(sum(s[0] for s in samples), live["allocations"])
        self.assertEqual(sum(s[1] for s in samples), sum(x["bytes"] for x in live["sites"]))
        self.assertEqual(sum(s[2] for s in samples), live["live_at_end"])
        self.assertEqual(sum(s[4] for s in samples), sum(x["page_faults"] for x in live["sites"]))
        top = run([GO, "tool", "pprof", "-top", "-sample_index=inuse_space", prof], env=env)
        self.assertEqual(top.returncode, 0, top.stderr)
        self.assertRegex(top.stdout, r"512kB\s+\S+%\s+\S+%\s+512kB\s+\S+%\s+leak_aligned")
        self.assertIn("Build ID:", top.stdout)

    def test_folded_weights_add_up(self):
        live = self.r.live_json()["per_allocation"]
        want = {"bytes": sum(x["bytes"] for x in live["sites"]),
                "calls": live["allocations"],
                "faults": sum(x["page_faults"] for x in live["sites"]),
                "live": sum(x["live_bytes_at_end"] for x in live["sites"]),
                "resident": 4096 * sum(x["live_faulted_pages"] for x in live["sites"])}
        for weight, total in want.items():
            with self.subTest(weight=weight):
                out = self.r.path("f-%s.folded" % weight)
                p = self.r.report("--folded", out, "--weight", weight)
                self.assertEqual(p.returncode, 0, p.stderr)
                with open(out) as f:
                    lines = f.read().splitlines()
                self.assertEqual(sum(int(l.rsplit(" ", 1)[1]) for l in lines), total)
                for l in lines:  # root first: main before the leaking function
                    self.assertRegex(l, r"^\S.* \d+$")
        with open(self.r.path("f-live.folded")) as f:
            self.assertRegex(f.read(), r"main;leak_aligned\(\) 524288")
        p = self.r.report("--folded", self.r.path("k.folded"), "--weight", "kernel_ns")
        self.assertEqual(p.returncode, 1)
        self.assertIn("not kept per call site", p.stderr)


class BadFiles(unittest.TestCase):
    """Cut short by kill -9, truncated, corrupt, not a recording: one line that says what
    and where, exit 1, and what the file holds when it holds anything."""

    def setUp(self):
        self.r = Recording()

    def tearDown(self):
        self.r.close()

    def test_killed_recording_reads_up_to_its_last_block(self):
        need_bpf(self)
        w = subprocess.Popen([target("waiter"), "1000", "spin"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        try:
            self.assertTrue(w.stdout.readline().startswith("ready"))
            m = subprocess.Popen([MEMSTUDY, "record", "-o", self.r.rec, "--pid", str(w.pid)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.assertIn("tracing PID", m.stderr.readline())
            w.stdin.write("go\n")
            w.stdin.flush()
            # blocks are written once a second at least: wait for two EVENTS blocks
            deadline = time.time() + 60
            while time.time() < deadline and self.events_blocks() < 2:
                time.sleep(0.1)
            self.assertGreaterEqual(self.events_blocks(), 2)
            m.send_signal(signal.SIGKILL)
            m.communicate(timeout=60)
        finally:
            w.kill()
            w.wait()
            w.stdin.close()
            w.stdout.close()
        p = self.r.report()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("cut short", p.stderr)
        self.assertRegex(p.stderr, r"at offset \d+")
        self.assertIn("the summary counters are written at the end", p.stdout)
        m = re.search(r"Per allocation: (\d+) allocations", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        self.assertGreater(int(m.group(1)), 1000)

    def events_blocks(self):
        """EVENTS blocks whole on disk now (format.h: 24-byte headers)."""
        import struct
        try:
            with open(self.r.rec, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return 0
        at, n = 16, 0
        while at + 24 <= len(data):
            magic, typ, stored = struct.unpack_from("<3I", data, at)
            if at + 24 + stored > len(data):
                break
            n += typ == 3
            at += 24 + stored
        return n

    def test_not_a_recording(self):
        p = memstudy(["report", "/bin/ls"])
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        self.assertIn("not a memstudy recording", p.stderr)
        p = memstudy(["report", self.r.path("missing.rec")])
        self.assertEqual(p.returncode, 1)
        self.assertIn("No such file", p.stderr)

    def test_truncated_and_corrupt(self):
        need_bpf(self)
        self.r.record(self, [], [WORKLOAD, "churn", "--count", "3000"])
        with open(self.r.rec, "rb") as f:
            data = f.read()
        cut = self.r.path("cut.rec")
        with open(cut, "wb") as f:
            f.write(data[:len(data) // 2])
        p = memstudy(["report", cut])
        self.assertEqual(p.returncode, 1)
        self.assertIn("cut short", p.stderr)
        bad = bytearray(data)
        bad[100] ^= 0xff
        with open(self.r.path("bad.rec"), "wb") as f:
            f.write(bad)
        p = memstudy(["report", self.r.path("bad.rec")])
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"corrupt recording: block at offset 16 fails its CRC")
        self.assertEqual(p.stdout, "")

    def test_usage(self):
        p = memstudy(["report"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("memstudy report FILE", p.stderr)
        p = memstudy(["record", "--follow", "--", "/bin/true"])
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    main()
