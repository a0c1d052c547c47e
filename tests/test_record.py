"""memstudy record / memstudy report: a recording read back gives the trace's own report
(the JSON memstudy record --json wrote, key for key), in --pid mode and with each way of
unwinding; the leaks of a C++ program against its own counts; pprof read by go tool pprof;
folded stacks against the per-allocation totals; a recording cut short by kill -9, and files
that are not recordings."""
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


class RecordedOnce(unittest.TestCase):
    """Tests reading one recording of CMD, made once for the class (rc, out, err: how
    memstudy record ended)."""
    CMD = []

    @classmethod
    def setUpClass(cls):
        cls.r = Recording()
        if os.geteuid() != 0:
            return
        p = memstudy(["record", "-o", cls.r.rec, "--json", cls.r.live, "--"] + cls.CMD)
        cls.rc, cls.out, cls.err = p.returncode, p.stdout, p.stderr

    @classmethod
    def tearDownClass(cls):
        cls.r.close()


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


class Leaks(RecordedOnce):
    """tests/targets/leaks.cpp says what it leaked; report --leaks finds exactly that, the
    runtimes' own blocks apart, a suppression honoured."""

    CMD = [target("leaks"), "20"]

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
        # suppressed by the program's own __lsan_default_suppressions(), read from its file
        sup = self.site(j, "suppressed_leak", "suppressed")
        self.assertEqual([(s["blocks"], s["bytes"]) for s in sup], [(t["suppressed"], 300)])
        self.assertEqual(sup[0]["suppressed_by"],
                         "leak:suppressed_leak, the program's __lsan_default_suppressions")
        # nothing else of the program's is left
        self.assertEqual(j["program"]["blocks"], t["aligned"] + 2 * t["vectors"], j["sites"])

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
                         ["leak:^leak_aligned()$",
                          "leak:suppressed_leak, the program's __lsan_default_suppressions"])
        self.assertEqual(j["suppressed"]["blocks"], self.truth["aligned"] + 3)
        # and the text says which are whose
        p = self.r.report("--leaks", "--suppressions", supp)
        self.assertIn("Suppressed (--suppressions, or the program's", p.stdout)
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
                      "inuse_space/bytes[dflt] page_faults/count resident_bytes/bytes "
                      "kernel_time/nanoseconds", raw.stdout)
        # each sample's values: the sites of the per-allocation report, exactly
        live = self.r.live_json()["per_allocation"]
        samples = [list(map(int, m.group(1).split()))
                   for m in re.finditer(r"^\s+((?:\d+\s+){6}\d+):", raw.stdout, re.M)]
        self.assertEqual(sum(s[0] for s in samples), live["allocations"])
        self.assertEqual(sum(s[1] for s in samples), sum(x["bytes"] for x in live["sites"]))
        self.assertEqual(sum(s[2] for s in samples), live["live_at_end"])
        self.assertEqual(sum(s[4] for s in samples), sum(x["page_faults"] for x in live["sites"]))
        self.assertEqual(sum(s[6] for s in samples), sum(x["kernel_ns"] for x in live["sites"]))
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
                "resident": 4096 * sum(x["live_faulted_pages"] for x in live["sites"]),
                "kernel_ns": sum(x["kernel_ns"] for x in live["sites"])}
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

    def test_kernel_time_per_site_is_the_calls(self):
        # the syscall time inside the calls, per site, adds up to the report's per function
        rep = self.r.live_json()
        sites = rep["per_allocation"]["sites"]
        by_fn = sum(f["kernel"]["syscall_ns"] for f in rep["functions"].values())
        self.assertGreater(by_fn, 0)
        self.assertEqual(sum(s["kernel_ns"] for s in sites), by_fn)
        self.assertEqual(sum(s["kernel_syscalls"] for s in sites),
                         sum(sum(f["kernel"]["syscalls"].values())
                             for f in rep["functions"].values()))
        # the 64 KiB blocks grew the heap: their site made syscalls
        aligned = [s for s in sites if "leak_aligned()" in s["frames"]]
        self.assertTrue(aligned and aligned[0]["kernel_syscalls"] > 0, aligned)


class FoundingNotesTools(unittest.TestCase):
    """The founding notes' own tools, from a recording: the log glibc's mtrace() writes,
    read by Debian's mtrace script."""

    def setUp(self):
        need_bpf(self)
        self.r = Recording()

    def tearDown(self):
        self.r.close()

    def test_mtrace_script_lists_the_leaks(self):
        p = self.r.record(self, [], [target("leaks"), "20"])
        truth = dict(kv.split("=") for kv in re.search(r"leaked: (.*)", p.stdout).group(1).split())
        log = self.r.path("mtrace.log")
        q = self.r.report("--mtrace", log)
        self.assertEqual(q.returncode, 0, q.stderr)
        with open(log) as f:
            text = f.read()
        self.assertTrue(text.startswith("= Start\n") and text.endswith("= End\n"))
        m = run(["mtrace", target("leaks"), log])
        self.assertEqual(m.returncode, 1, m.stdout + m.stderr)  # 1: there are leaks
        self.assertIn("Memory not freed:", m.stdout)
        lines = [l for l in m.stdout.splitlines() if l.startswith("0x")]
        live = self.r.live_json()["per_allocation"]["live_at_end"]
        self.assertEqual(len(lines), live)
        # each 64 KiB block of leak_aligned, named by addr2line through the script
        aligned = [l for l in lines if re.search(r"0x10000\s+at .*leaks\.cpp:\d+", l)]
        self.assertEqual(len(aligned), int(truth["aligned"]), m.stdout)
        self.assertNotIn("was never alloc'd", m.stdout)


class Check(unittest.TestCase):
    """report --check: what tests/targets/bad_frees.c says it did wrong, found."""

    def setUp(self):
        need_bpf(self)
        self.r = Recording()

    def tearDown(self):
        self.r.close()

    def test_double_free_and_use_after_free(self):
        env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.tcache_count=0")
        p = memstudy(["record", "-o", self.r.rec, "--json", self.r.live, "--",
                      target("bad_frees")], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        did = dict(kv.split("=") for kv in re.search(r"did: (.*)", p.stdout).group(1).split())
        out = self.r.path("check.json")
        q = self.r.report("--check", "--json", out)
        self.assertEqual(q.returncode, 0, q.stderr)
        with open(out) as f:
            c = json.load(f)
        self.assertEqual(c["double_free"]["count"], 1)
        df = c["double_free"]["first"][0]
        self.assertEqual(int(df["ptr"], 16), int(did["double_free"], 16))
        self.assertEqual(df["size"], int(did["size"]))
        self.assertLess(df["freed_before_s"], df["t_s"])
        self.assertIn("double_free", df["allocated_at"])
        for k in ("free_of_unknown_pointer", "realloc_of_freed_block",
                  "realloc_of_unknown_pointer"):
            self.assertEqual(c[k]["count"], 0, k)
        # each page the program wrote after freeing it (and not resident: given back)
        self.assertEqual(c["freed_memory_touches"], int(did["freed_pages_touched"]))
        self.assertTrue(all("use_after_free" in t["by"] for t in c["freed_memory_touches_first"]))
        self.assertTrue(all(t["block_size"] == 96 << 10 for t in c["freed_memory_touches_first"]))
        text = self.r.report("--check").stdout
        self.assertRegex(text, r"double frees \(a block freed again\)\s+1")
        self.assertIn("inside a block of 98304 B freed at", text)


class Timeline(RecordedOnce):
    """Memory over time against the workload's own readings of its resident set and its
    own counts, and the Perfetto timeline made of the same records."""

    CMD = [WORKLOAD, "churn", "--count", "100000"]

    def setUp(self):
        need_bpf(self)
        self.assertEqual(self.rc, 0, self.err)

    def phase_ends(self):
        """When each phase ended, in seconds since the trace started (phases are
        contiguous: each one's duration from the report)."""
        t, ends = 0.0, {}
        for ph in self.r.live_json()["phases"]:
            t += ph["duration_s"]
            ends[ph["name"]] = t
        return ends

    def points(self):
        import csv
        out = self.r.path("tl.csv")
        if not os.path.exists(out):
            p = self.r.report("--timeline", out)
            self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]

    def at(self, points, t):
        """The last point at or before T."""
        return [p for p in points if p["t_s"] <= t][-1]

    def test_resident_set_is_the_workloads_own(self):
        pts, ends = self.points(), self.phase_ends()
        # the workload read its VmRSS at each phase's end (rss_kb before>after)
        rss = {m.group(1): int(m.group(2)) * 1024 for m in
               re.finditer(r"^(alloc|touch|free)\s+.*?\s(\d+)>(\d+)\s+0x", self.out, re.M)}
        after = {m.group(1): int(m.group(3)) * 1024 for m in
                 re.finditer(r"^(alloc|touch|free)\s+.*?\s(\d+)>(\d+)\s+0x", self.out, re.M)}
        self.assertEqual(set(after), {"alloc", "touch", "free"}, self.out)
        # at the end of "touch" every block is resident; the kernel's counters are sent in
        # 256 KiB steps and read per CPU (each CPU's batch of pages not yet summed): the
        # point there is within 1 MiB of the workload's own reading (of ~104 MiB)
        p = self.at(pts, ends["touch"])
        self.assertLess(abs(p["rss_bytes"] - after["touch"]), 1 << 20, (p, after["touch"]))
        # and the peak is the workload's peak
        self.assertLess(abs(max(q["rss_bytes"] for q in pts) - after["touch"]), 1 << 20)
        self.assertTrue(rss)

    def test_live_bytes_are_the_workloads_blocks(self):
        pts, ends = self.points(), self.phase_ends()
        p = self.at(pts, ends["touch"])
        # 100000 blocks of 1040 bytes live (and the few the C runtime holds)
        self.assertGreaterEqual(p["live_bytes"], 100000 * 1040)
        self.assertLess(p["live_bytes"], 100000 * 1040 + 64 * 1024)
        self.assertGreaterEqual(p["allocator_mapped_bytes"], p["live_bytes"])
        last = pts[-1]
        self.assertLess(last["live_bytes"], 64 * 1024)
        self.assertEqual(last["allocs"], self.r.live_json()["per_allocation"]["allocations"])
        self.assertTrue(os.path.getsize(self.r.path("tl.png")) > 10000)

    def test_leaks_at_a_moment(self):
        ends = self.phase_ends()
        # in the middle of "touch": every block allocated, none freed yet
        at = (ends["alloc"] + ends["touch"]) / 2
        out = self.r.path("at.json")
        p = self.r.report("--leaks", "--at", "%.6f" % at, "--json", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            j = json.load(f)
        churn = [s for s in j["sites"] if any("wl_churn" in fr for fr in s["frames"])]
        self.assertEqual([(s["blocks"], s["bytes"]) for s in churn], [(100000, 100000 * 1040)])
        # at the end they are all freed
        q = self.r.report("--leaks", "--json", self.r.path("end.json"))
        self.assertEqual(q.returncode, 0, q.stderr)
        with open(self.r.path("end.json")) as f:
            self.assertFalse([s for s in json.load(f)["sites"]
                              if any("wl_churn" in fr for fr in s["frames"])])

    def test_perfetto_trace(self):
        out = self.r.path("trace.json")
        p = self.r.report("--perfetto", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            trace = json.load(f)  # Chrome's trace-event format: JSON, its rules below
        events = trace["traceEvents"]
        for e in events:
            self.assertIn(e["ph"], "XiCM", e)
            self.assertIsInstance(e["ts"], (int, float))
            self.assertIsInstance(e["pid"], int)
            self.assertIsInstance(e["tid"], int)
            if e["ph"] == "X":
                self.assertGreaterEqual(e["dur"], 0)
            if e["ph"] == "C":
                self.assertTrue(all(isinstance(v, (int, float)) for v in e["args"].values()))
        live = self.r.live_json()
        slow = [e for e in events if e["ph"] == "X" and e.get("cat") == "allocator"]
        kept = sum(len(f.get("slowest", [])) for f in live["functions"].values())
        self.assertGreaterEqual(len(slow), kept)  # every call that joined the slowest
        slowest = max(f["slowest"][0]["ns"] for f in live["functions"].values() if f.get("slowest"))
        self.assertAlmostEqual(max(e["dur"] for e in slow), slowest / 1e3, places=2)
        mem = [e for e in events if e["ph"] == "C" and e["name"] == "memory"]
        pts = self.points()
        self.assertEqual(mem[-1]["args"]["rss_bytes"], pts[-1]["rss_bytes"])
        self.assertEqual(sum(e["args"]["allocations"] for e in events
                             if e["ph"] == "C" and e["name"] == "activity"),
                         live["per_allocation"]["allocations"])
        names = {e["args"]["name"] for e in events if e["ph"] == "M"}
        self.assertIn("memstudy-worklo", names)
        brks = [e for e in events if e["ph"] == "i" and e["name"] == "brk"]
        self.assertEqual(len(brks), live["syscalls"]["brk"]["calls"])


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

    def test_full_disk_is_said_and_the_file_read(self):
        need_bpf(self)
        d = tempfile.mkdtemp(prefix="memstudy-full.")
        m = run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", d])
        self.assertEqual(m.returncode, 0, m.stderr)
        try:
            rec = os.path.join(d, "x.rec")
            p = memstudy(["record", "-o", rec, "--json", self.r.live, "--", WORKLOAD, "churn",
                          "--count", "200000"])
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("No space left on device", p.stderr)
            self.assertIn("which memstudy report reads", p.stderr)
            # the trace went on: its report is whole
            self.assertGreaterEqual(self.r.live_json()["functions"]["malloc"]["calls"], 200000)
            q = memstudy(["report", rec])
            self.assertEqual(q.returncode, 1)
            self.assertIn("cut short", q.stderr)
            self.assertRegex(q.stdout, r"Per allocation: \d+ allocations")
        finally:
            run(["umount", d])
            os.rmdir(d)

    def test_changed_binary_is_said(self):
        need_bpf(self)
        app = self.r.path("app")
        shutil.copy(target("leaks"), app)
        self.r.record(self, [], [app, "5"])
        self.assertNotIn("is not the file recorded", self.r.report("-o", "/dev/null").stderr)
        os.unlink(app)
        shutil.copy(target("waiter"), app)  # another program at the same path
        p = self.r.report("-o", "/dev/null")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("%s is not the file recorded" % app, p.stderr)

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
        p = memstudy(["record", "--maps", "--", "/bin/true"])
        self.assertEqual(p.returncode, 2)
        # --follow --unwind kernel copies the stacks the kernel's tables cannot walk
        p = memstudy(["record", "--follow", "--unwind", "kernel", "--stack-bytes", "0", "--",
                      "/bin/true"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("it needs --stack-bytes above 0", p.stderr)


if __name__ == "__main__":
    main()
