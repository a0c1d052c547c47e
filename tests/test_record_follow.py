"""memstudy record --follow (issue 17): a recording of a whole process tree read back gives
the trace's own report, processes[] and each process's per-allocation sections included:
the JSON memstudy record --json wrote during that same run is the reference, key for key.
The oracles besides are the programs' own counts (fork_storm's children each make exactly K
mallocs; target-allocs makes N calls of each function; fork_inherit prints what its child
inherited and freed) and the compiler's own symbols for cc1's stacks."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from memtest import MEMSTUDY, c_project, need_bpf, target, main
from test_record import Recording, first_difference

# The keys a report of the recording could not hold as the trace had them. None so far:
# the recording keeps what was learned live (each image's exe and allocators, each process's
# probe latency and per-function numbers from the kernel's map) in its PROCS and PROC
# blocks, so processes[] is compared whole. A key that must be let differ goes here, with why.
INHERENTLY_DIFFERENT = ()


def without(rep, keys):
    rep = dict(rep)
    for k in keys:
        rep.pop(k, None)
    return rep


def by_exe(rep, suffix):
    return [p for p in rep["processes"] if p["exe"].endswith(suffix)]


def calls(p, fn):
    return p["functions"].get(fn, {}).get("calls", 0)


class RecordFollow(unittest.TestCase):
    def setUp(self):
        need_bpf(self)
        self.r = Recording()
        self.addCleanup(self.r.close)

    def record(self, cmd, extra=()):
        p = self.r.record(self, ["--follow"] + list(extra), cmd)
        live = self.r.live_json()
        self.assertEqual(live["lost_events"], 0, p.stderr)
        return live, p

    def check_same(self, live):
        back = self.r.report_json(self)
        self.assertIsNone(first_difference(without(live, INHERENTLY_DIFFERENT),
                                           without(back, INHERENTLY_DIFFERENT)))
        return back

    def test_fork_storm_each_child_from_the_recording(self):
        children, k = 20, 150
        live, p = self.record([target("fork_storm"), str(children), str(k)])
        self.assertEqual(json.loads(p.stdout), {"children": children, "mallocs_per_child": k})
        back = self.check_same(live)
        procs = back["processes"]
        self.assertEqual(len(procs), children + 1)
        root = procs[0]
        for c in procs[1:]:
            self.assertEqual(c["ppid"], root["pid"])
            self.assertEqual(calls(c, "malloc"), k, c["pid"])
            self.assertEqual(calls(c, "free"), k, c["pid"])
            self.assertEqual(c["exit"], 3)
            self.assertEqual(c["missed_calls_bound"], 0)
            # its own collector: exactly its own blocks, all freed (none inherited live)
            pa = c["per_allocation"]
            self.assertEqual(pa["allocations"], k)
            self.assertEqual(pa["frees"], k)
            self.assertEqual(pa["unknown_frees"], 0)
        self.assertEqual(back["functions"]["malloc"]["calls"],
                         sum(calls(q, "malloc") for q in procs))
        self.assertEqual(back["follow"]["processes"], children + 1)
        # the text report has the processes too
        out = self.r.report().stdout
        self.assertIn("Processes followed: %d" % (children + 1), out)
        self.assertIn("Per allocation, per process", out)

    def test_exec_chain_into_a_static_program(self):
        """shell -> a dynamic program (a child) -> a static one (the shell's own exec): each
        image's exe and allocator come back from the recording; each process's stacks are
        named with its own program's code."""
        live, p = self.record(["sh", "-c", "%s 100; exec %s 200" % (
            target("allocs"), target("allocs-static"))])
        back = self.check_same(live)
        dyn, = by_exe(back, "/target-allocs")
        static, = by_exe(back, "/target-allocs-static")
        self.assertEqual(calls(dyn, "pvalloc"), 100)
        self.assertIn("libc.so", dyn["allocators"][0])
        self.assertEqual(calls(static, "pvalloc"), 200)
        self.assertEqual(static["allocators"], [target("allocs-static")])
        self.assertEqual(static["execs"], 1)
        frames = [f for s in dyn["per_allocation"]["sites"] for f in s.get("frames", [])]
        self.assertIn("main", frames)

    def test_child_starts_with_its_parents_blocks(self):
        live, p = self.record([target("fork_inherit"), "200", "50"])
        truth = json.loads(p.stdout)
        back = self.check_same(live)
        root, child = back["processes"]
        pa = child["per_allocation"]
        self.assertEqual(pa["inherited"], truth["inherited"])
        inh, = [s for s in pa["sites"] if s.get("inherited_from") == root["pid"]]
        self.assertEqual(inh["allocations"], truth["inherited"])
        self.assertEqual(inh["frees"], truth["child_frees_inherited"])
        self.assertEqual(pa["allocations"], truth["child_mallocs"])
        self.assertEqual(pa["unknown_frees"], 0)

    def test_make_j2_of_a_small_project(self):
        gcc, make = shutil.which("gcc"), shutil.which("make")
        if not gcc or not make:
            self.fail("gcc and make are needed: build.sh installs build-essential")
        d = tempfile.mkdtemp(prefix="memstudy-make-")
        self.addCleanup(shutil.rmtree, d, True)
        n = 3
        c_project(d, n)
        live, p = self.record(["make", "-C", d, "-j2"])
        self.assertTrue(os.path.exists(os.path.join(d, "prog")))
        back = self.check_same(live)
        cc1 = by_exe(back, "/cc1")
        self.assertEqual(len(cc1), n)
        for c in cc1:
            self.assertGreater(calls(c, "malloc"), 1000)
            # its stacks named from cc1's own symbols, not make's (the target's code)
            frames = {f for s in c["per_allocation"]["sites"] for f in s.get("frames", [])}
            self.assertIn("toplev::main(int, char**)", frames)

    def test_check_reads_the_targets_records(self):
        """--check is of one address space: the target's. Its children's blocks (each
        child's heap a copy of its parent's: the same addresses) are not taken for its
        own freed or reused ones."""
        self.record([target("fork_storm"), "10", "100"])
        p = self.r.report("--check", "--json", self.r.path("check.json"))
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.r.path("check.json")) as f:
            check = json.load(f)
        for kind in ("double_free", "free_of_unknown_pointer", "realloc_of_freed_block",
                     "realloc_of_unknown_pointer"):
            self.assertEqual(check[kind]["count"], 0, (kind, check[kind]))
        self.assertEqual(check["freed_memory_touches"], 0)

    def test_pid_follow_takes_in_running_descendants(self):
        # a background job's stdin is /dev/null unless redirected: fd 3 keeps ours
        sh = subprocess.Popen(["sh", "-c", "exec 3<&0; %s 300 <&3 & wait" % target("waiter")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: sh.poll() is None and sh.kill())
        self.addCleanup(sh.stdout.close)
        line = sh.stdout.readline()
        self.assertTrue(line.startswith("ready "), line)
        waiter = int(line.split()[1])
        m = subprocess.Popen([MEMSTUDY, "record", "-o", self.r.rec, "--json", self.r.live,
                              "--pid", str(sh.pid), "--follow"], stderr=subprocess.PIPE,
                             text=True)
        self.addCleanup(lambda: m.poll() is None and m.kill())
        self.addCleanup(m.stderr.close)
        self.assertIn("tracing PID", m.stderr.readline())
        sh.stdin.write("go\n")
        sh.stdin.flush()
        self.assertEqual(sh.stdout.readline().strip(), "done 300")
        sh.stdin.write("go\n")
        sh.stdin.close()
        sh.wait(timeout=60)
        err = m.stderr.read()
        m.wait(timeout=120)
        self.assertEqual(m.returncode, 0, err)
        back = self.check_same(self.r.live_json())
        w = [q for q in back["processes"] if q["pid"] == waiter]
        self.assertEqual(len(w), 1, back["processes"])
        self.assertEqual(w[0]["ppid"], sh.pid)
        self.assertGreaterEqual(calls(w[0], "malloc"), 300)
        self.assertEqual(calls(w[0], "free"), 300)
        self.assertGreaterEqual(w[0]["per_allocation"]["frees"], 300)

    def test_help_names_follow(self):
        p = subprocess.run([MEMSTUDY, "record", "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--follow", p.stdout)


if __name__ == "__main__":
    main()
