"""memstudy run and --pid on the built-in workloads: memstudy's per-phase counts against each
workload's own ground truth (its call sites, getrusage, its own syscall counts)."""
import json
import os
import signal
import subprocess
import tempfile
import unittest

from memtest import MEMSTUDY, WORKLOAD, memstudy_json, need_bpf, main

WORKLOADS = ["churn", "array", "malloc", "calloc", "realloc", "brk", "mmap", "memalign",
             "alloca", "vla", "threads", "fragment", "trim", "thresholds"]


def traced(args):
    """memstudy run -- memstudy-workload ARGS --json: (memstudy report, workload report)."""
    rep, p = memstudy_json(["run", "--", WORKLOAD] + list(args) + ["--json"])
    assert p.returncode == 0, p.stderr
    return rep, json.loads(p.stdout)


def in_phases(rep, what):
    """Sum WHAT(phase) over the workload's own phases (not before its first or after its
    last marker, where libc starts up and exits)."""
    return sum(what(ph) for ph in rep["phases"] if ph["name"] not in ("start", "end"))


class WorkloadsTraced(unittest.TestCase):
    def setUp(self):
        need_bpf(self)

    def test_every_workload_calls_match_its_own_count(self):
        for name in WORKLOADS:
            with self.subTest(workload=name):
                rep, wl = traced([name])
                self.assertEqual(rep["lost_events"], 0)
                names = [ph["name"] for ph in rep["phases"]]
                self.assertEqual(names[1:], [ph["name"] for ph in wl["phases"]] + ["end"])
                want = {f: v["calls"] for f, v in wl["calls"].items()}
                # glibc 2.36 has one function for both: memstudy counts them as memalign
                want["memalign"] += want.pop("aligned_alloc")
                got = {f: in_phases(rep, lambda ph: ph["functions"][f]["calls"]) for f in want}
                if name == "threads":
                    # each exiting thread frees its tcache and TLS: a few frees per thread
                    extra = got["free"] - want["free"]
                    self.assertTrue(0 <= extra <= 4 * wl["params"]["threads"], extra)
                    got["free"] = want["free"]
                self.assertEqual(got, want)
                for sysname, n in wl.get("syscalls", {}).items():
                    mine = in_phases(rep, lambda ph: ph["syscalls"][sysname]["calls"])
                    # malloc may add one brk of its own (heap set-up) inside a phase
                    self.assertTrue(n <= mine <= n + 1, (sysname, mine, n))

    def test_threads_whose_state_slot_is_taken(self):
        """With one state slot, every thread but the first keeps its state in task storage
        (what happens when pid_max is larger than the slot array and tids collide): the
        counts and the kernel work charged to malloc must not change."""
        reps = {}
        for slots in ("65536", "1"):
            rep, p = memstudy_json(["run", "--thread-slots", slots, "--", WORKLOAD,
                                    "threads", "--json"])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(rep["lost_events"], 0)
            reps[slots] = (rep, json.loads(p.stdout))
        self.assertEqual(reps["65536"][0]["overhead"]["threads_in_task_storage"], 0)
        rep, wl = reps["1"]
        self.assertEqual(rep["overhead"]["thread_slots"], 1)
        self.assertGreaterEqual(rep["overhead"]["threads_in_task_storage"],
                                wl["params"]["threads"])
        self.assertEqual(in_phases(rep, lambda ph: ph["functions"]["malloc"]["calls"]),
                         wl["calls"]["malloc"]["calls"])
        extra = in_phases(rep, lambda ph: ph["functions"]["free"]["calls"]) - \
            wl["calls"]["free"]["calls"]
        self.assertTrue(0 <= extra <= 4 * wl["params"]["threads"], extra)  # thread exits
        mine = {ph["name"]: ph for ph in rep["phases"]}["alloc"]
        ref = {ph["name"]: ph for ph in reps["65536"][0]["phases"]}["alloc"]
        k, kref = mine["functions"]["malloc"]["kernel"], ref["functions"]["malloc"]["kernel"]
        self.assertGreater(k["syscalls"]["mprotect"], 0)  # arenas grow inside malloc
        self.assertEqual(k["syscalls"]["mprotect"], kref["syscalls"]["mprotect"])
        self.assertEqual(k["page_faults"], mine["page_faults"]["in_alloc_calls"])
        self.assertLessEqual(abs(k["page_faults"] - kref["page_faults"]), 8)

    def test_churn_phase_faults_match_getrusage(self):
        for n in (1000, 10000, 100000):
            with self.subTest(count=n):
                rep, wl = traced(["churn", "--count", str(n)])
                mine = {ph["name"]: ph for ph in rep["phases"]}
                for ph in wl["phases"]:
                    pf = mine[ph["name"]]["page_faults"]
                    # the workload reads getrusage a few instructions after the marker
                    self.assertLessEqual(abs(pf["user"] + pf["kernel_on_user"] - ph["minflt"]),
                                         3, (n, ph["name"], pf, ph["minflt"]))
                self.assertEqual(mine["alloc"]["functions"]["malloc"]["calls"], n)
                self.assertEqual(mine["free"]["functions"]["free"]["calls"], n)

    def test_array_is_one_mmap_and_one_munmap(self):
        rep, wl = traced(["array", "--count", "100000"])  # 104 MB: far above the threshold
        ph = {p["name"]: p for p in rep["phases"]}
        self.assertEqual(ph["alloc"]["functions"]["malloc"]["kernel"]["syscalls"]["mmap"], 1)
        self.assertEqual(ph["free"]["functions"]["free"]["kernel"]["syscalls"]["munmap"], 1)
        self.assertEqual(ph["free"]["syscalls"]["munmap"]["bytes"] // 4096,
                         (100000 * 1040 + 16 + 4095) // 4096)  # + chunk header

    def test_pid_attach_with_wait(self):
        w = subprocess.Popen([WORKLOAD, "churn", "--count", "5000", "--wait", "--json"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            try:
                self.assertTrue(w.stderr.readline().startswith("ready"))
                m = subprocess.Popen([MEMSTUDY, "--pid", str(w.pid), "--json", f.name, "-o",
                                      "/dev/null"], stderr=subprocess.PIPE, text=True)
                self.assertIn("tracing PID", m.stderr.readline())
                w.send_signal(signal.SIGUSR1)
                out, _ = w.communicate(timeout=60)
                m.wait(timeout=60)  # ends by itself when the workload exits
                m.stderr.close()
            finally:
                if w.poll() is None:
                    w.kill()
            rep = json.load(f)
        wl = json.loads(out)
        self.assertTrue(rep["target"]["exited"])
        self.assertEqual(in_phases(rep, lambda ph: ph["functions"]["malloc"]["calls"]),
                         wl["calls"]["malloc"]["calls"])
        self.assertEqual(in_phases(rep, lambda ph: ph["functions"]["free"]["calls"]), 5000)


if __name__ == "__main__":
    main()
