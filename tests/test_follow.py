"""Following the process tree (issue 17): --follow traces forked children from their first
instruction (each is stopped until its probes are in place) and re-resolves the allocator
at each exec. The oracles are the programs' own counts: fork_storm's children each make
exactly K mallocs right after fork; target-allocs makes N calls of each function; a
compiler run leaves its object files."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from memtest import MEMSTUDY, c_project, memstudy_json, need_bpf, target, main

TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"


def by_exe(rep, suffix):
    return [p for p in rep["processes"] if p["exe"].endswith(suffix)]


def calls(p, fn):
    return p["functions"].get(fn, {}).get("calls", 0)


class Follow(unittest.TestCase):
    def setUp(self):
        need_bpf(self)

    def trace(self, cmd, extra=("--follow",), env=None):
        rep, p = memstudy_json(["run"] + list(extra) + ["--"] + cmd, self, env=env)
        self.assertEqual(rep["lost_events"], 0, p.stderr)
        return rep, p

    def test_fork_storm_every_child_counted(self):
        children, k = 30, 200
        rep, p = self.trace([target("fork_storm"), str(children), str(k)])
        self.assertEqual(p.returncode, 0, p.stderr)
        procs = rep["processes"]
        self.assertEqual(len(procs), children + 1)
        root = procs[0]
        for c in procs[1:]:
            self.assertEqual(c["ppid"], root["pid"])
            # the first thing each child does after fork: none of it missed
            self.assertEqual(calls(c, "malloc"), k, c)
            self.assertEqual(calls(c, "free"), k, c)
            self.assertEqual(c["exit"], 3)
            self.assertEqual(c["missed_calls_bound"], 0)
        self.assertEqual(root["exit"], 0)
        self.assertEqual(rep["functions"]["malloc"]["calls"],
                         sum(calls(q, "malloc") for q in procs))
        self.assertEqual(rep["follow"]["attach_failures"], 0)
        # each process's own latencies and kernel work per function: its calls, exactly,
        # and together the tree's
        for q in procs:
            for name, f in q["functions"].items():
                lat = f["latency_ns"]
                self.assertLessEqual(lat["p50"], lat["p99"])
                self.assertLessEqual(lat["p99"], lat["max"] * 1.125 + 1)
                self.assertLessEqual(lat["max"], rep["functions"][name]["latency_ns"]["max"])
        for name in ("malloc", "free"):
            tree = rep["functions"][name]["kernel"]
            self.assertEqual(sum(q["functions"][name]["kernel"]["syscall_ns"] for q in procs
                                 if name in q["functions"]), tree["syscall_ns"], name)
            self.assertEqual(sum(q["functions"][name]["kernel"]["page_faults"] for q in procs
                                 if name in q["functions"]), tree["page_faults"], name)

    def test_exec_chain_into_a_static_program(self):
        """shell -> a dynamic program (a child) -> a static one (the shell's own exec): each
        image's allocator is resolved and probed, the static program's in itself."""
        rep, p = self.trace(["sh", "-c", "%s 100; exec %s 200" % (
            target("allocs"), target("allocs-static"))])
        self.assertEqual(p.returncode, 0, p.stderr)
        dyn, = by_exe(rep, "/target-allocs")
        static, = by_exe(rep, "/target-allocs-static")
        self.assertEqual(calls(dyn, "pvalloc"), 100)
        self.assertIn("libc.so", dyn["allocators"][0])
        self.assertEqual(calls(static, "pvalloc"), 200)
        self.assertEqual(static["allocators"], [target("allocs-static")])
        self.assertEqual(static["pid"], rep["processes"][0]["pid"])  # the shell exec'ed
        self.assertEqual(static["execs"], 1)
        # glibc's own calls told apart in each process (the static program's are its own)
        self.assertEqual(rep["functions"]["pvalloc"]["internal_calls"]["calls"], 0)
        self.assertLess(rep["functions"]["malloc"]["internal_calls"]["calls"], 20)

    def test_exec_into_the_same_allocator_counts_once(self):
        """The target execs a program of the same libc: its probes stay, none is added on
        the same file (each call counted once)."""
        rep, p = self.trace(["sh", "-c", "exec %s 100" % target("allocs")])
        self.assertEqual(p.returncode, 0, p.stderr)
        prog, = rep["processes"]
        self.assertEqual(calls(prog, "pvalloc"), 100)
        self.assertEqual(rep["functions"]["pvalloc"]["calls"], 100)

    def test_exec_with_the_childs_own_preload(self):
        """env LD_PRELOAD=tcmalloc PROG: the new image's allocator is found with the
        process's environment, not memstudy's."""
        if not os.path.exists(TCMALLOC):
            self.fail("%s is missing: build.sh installs libtcmalloc-minimal4" % TCMALLOC)
        rep, p = self.trace(["env", "LD_PRELOAD=" + TCMALLOC, target("allocs"), "100"])
        self.assertEqual(p.returncode, 0, p.stderr)
        prog, = by_exe(rep, "/target-allocs")
        self.assertEqual(prog["allocators"][0], TCMALLOC)
        self.assertEqual(calls(prog, "pvalloc"), 100)

    def test_make_j2_of_a_small_project(self):
        gcc, make = shutil.which("gcc"), shutil.which("make")
        if not gcc or not make:
            self.fail("gcc and make are needed: build.sh installs build-essential")
        d = tempfile.mkdtemp(prefix="memstudy-make-")
        self.addCleanup(shutil.rmtree, d, True)
        n = 5
        c_project(d, n)
        rep, p = self.trace(["make", "-C", d, "-j2"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(os.path.join(d, "prog")))
        cc1 = by_exe(rep, "/cc1")
        self.assertEqual(len(cc1), n)  # one compiler per source file
        for c in cc1:
            self.assertGreater(calls(c, "malloc"), 1000)
            self.assertEqual(c["exit"], 0)
        self.assertEqual(len(by_exe(rep, "-as")), n)
        self.assertTrue(by_exe(rep, "/make"))
        self.assertEqual(sum(1 for q in rep["processes"] if q["probes_failed"]), 0)

    def test_per_allocation_each_process_its_own(self):
        """--per-allocation --follow: each process has its own address index; a child
        starts with its parent's live blocks (fork_inherit's child frees half of them and
        writes the rest: copy-on-write faults on inherited memory)."""
        rep, p = self.trace([target("fork_inherit"), "200", "50"],
                            extra=("--follow", "--per-allocation"))
        self.assertEqual(p.returncode, 0, p.stderr)
        truth = json.loads(p.stdout)
        root, child = rep["processes"]
        pa = child["per_allocation"]
        self.assertTrue(pa["complete"])
        self.assertEqual(pa["inherited"], truth["inherited"])
        inh, = [s for s in pa["sites"] if s.get("inherited_from") == root["pid"]]
        self.assertEqual(inh["allocations"], truth["inherited"])
        self.assertEqual(inh["frees"], truth["child_frees_inherited"])
        self.assertGreater(inh["page_faults"], 0)  # copy-on-write, charged to the blocks
        self.assertEqual(pa["allocations"], truth["child_mallocs"])
        self.assertEqual(pa["unknown_frees"], 0)
        own = [s for s in pa["sites"] if not s.get("inherited_from")]
        self.assertEqual(sum(s["allocations"] - s["frees"] for s in own), 0)
        self.assertTrue(all(s["title"] == "main" for s in own), own)
        # the parent's index is its own: all its blocks freed by it, none by the child
        self.assertEqual(rep["per_allocation"]["unknown_frees"], 0)
        self.assertEqual(rep["per_allocation"]["frees"], truth["inherited"])

    def test_unwind_kernel_walks_the_forked_and_copies_the_execd(self):
        """--unwind kernel --follow: the kernel's tables hold the target's code, so the
        target's stacks and its forked children's (the same memory, copied) are walked
        there; an exec'd image's are copied and unwound by memstudy with its own code.
        Every stack is whole either way, and named as --unwind copy names it."""
        def both(cmd):
            out = []
            for how in ("kernel", "copy"):
                rep, p = self.trace(cmd, extra=("--follow", "--per-allocation", "--unwind", how))
                self.assertEqual(p.returncode, 0, p.stderr)
                out.append(rep)
            return out

        def procs(rep, suffix):
            return sorted(by_exe(rep, suffix), key=lambda q: q["start_s"])

        def pa(rep, q):  # the target's sections are the report's own
            return q.get("per_allocation") or rep["per_allocation"]

        def sites(rep, q):
            # the process's own program's: not what a shell's forked copy allocated before
            # its exec into it (in dash's code, walked to dash's stripped _start or not as
            # the two ways of unwinding end a stack there)
            return sorted((tuple(s["frames"]), s["allocations"]) for s in pa(rep, q)["sites"]
                          if not any(l.get("module") == "dash" for l in s["locations"]))

        def same_sites(kernel, copy, suffix):
            a, b = procs(kernel, suffix), procs(copy, suffix)
            self.assertEqual(len(a), len(b), suffix)
            for x, y in zip(a, b):
                self.assertEqual(sites(kernel, x), sites(copy, y), suffix)

        # forked children: walked in the kernel with the target's tables (--pid: loaded
        # before the trace starts, so before the forks)
        storm = subprocess.Popen([target("fork_storm"), "4", "100", "wait"], text=True,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(lambda: storm.poll() is None and storm.kill())
        self.assertTrue(storm.stdout.readline().startswith("ready"))
        with tempfile.NamedTemporaryFile(suffix=".json") as js:
            m = subprocess.Popen([MEMSTUDY, "--pid", str(storm.pid), "--follow",
                                  "--per-allocation", "--unwind", "kernel", "--json", js.name,
                                  "-o", "/dev/null"], stderr=subprocess.PIPE, text=True)
            self.addCleanup(lambda: m.poll() is None and m.kill())
            self.assertIn("tracing PID", m.stderr.readline())
            storm.stdin.write("go\n")
            storm.stdin.close()
            truth = json.loads(storm.stdout.read())
            storm.wait(timeout=60)
            err = m.stderr.read()
            m.wait(timeout=120)
            self.assertEqual(m.returncode, 0, err)
            with open(js.name) as f:
                kernel = json.load(f)
        children = [q for q in kernel["processes"] if q["ppid"] == storm.pid]
        self.assertEqual(len(children), truth["children"])
        for q in children:
            st = pa(kernel, q)["stacks"]
            self.assertEqual(pa(kernel, q)["allocations"], truth["mallocs_per_child"])
            self.assertEqual(st["finished_from_copy"], 0, st)  # no copy: walked
            self.assertEqual(st["complete"], st["unwound"], st)
            self.assertEqual(st["reached_program_entry"], st["unwound"], st)
            own = [s["title"] for s in pa(kernel, q)["sites"] if not s.get("inherited_from")]
            self.assertEqual(own, ["main"])

        kernel, copy = both(["sh", "-c", "%s 50; true" % target("allocs")])
        allocs, = procs(kernel, "target-allocs")  # exec'd: copied, unwound by memstudy
        st = pa(kernel, allocs)["stacks"]
        self.assertGreater(st["finished_from_copy"], 50)
        # what the shell's forked copy allocated before its exec was walked (its memory
        # was the shell's then): a few calls of dash's, never the program's
        self.assertLessEqual(st["unwound"] - st["finished_from_copy"], 5, st)
        self.assertEqual(st["complete"], st["unwound"], st)
        same_sites(kernel, copy, "target-allocs")
        # what the shell's copy allocated before the exec is named with the shell's code
        # (dash is stripped: [dash+offset]), not left as addresses of the new image's map
        for s in pa(kernel, allocs)["sites"]:
            self.assertFalse([f for f in s["frames"] if f.startswith("0x")], s["frames"])

    def test_slowest_calls_named_with_their_process_code(self):
        """A child's slowest free (slowcalls trim: the one that shrinks the heap by brk),
        its stack unwound and named with the child's own code, after its exec."""
        rep, p = self.trace(["sh", "-c", "%s trim; true" % target("slowcalls")])
        self.assertEqual(p.returncode, 0, p.stderr)
        prog, = by_exe(rep, "/target-slowcalls")
        # the slowest that did work inside: a busy machine may preempt another free longer
        slow = [c for c in rep["functions"]["free"]["slowest"] if c["syscalls"]][0]
        self.assertEqual(slow["tid"], prog["pid"])
        self.assertEqual([c["name"] for c in slow["syscalls"]], ["brk"])
        self.assertEqual(slow["frames"][:2], ["trim", "main"])

    def test_syscalls_outside_calls_named_with_their_process_code(self):
        rep, p = self.trace(["sh", "-c", "%s; true" % target("syscalls")])
        self.assertEqual(p.returncode, 0, p.stderr)
        sites = rep["syscalls_outside_calls"]["by_bytes"]
        munmap = [s for s in sites if s["syscall"] == "munmap" and "main" in s["frames"]]
        self.assertTrue(munmap, sites[:5])
        self.assertGreaterEqual(munmap[0]["calls"], 100)

    def test_text_groups_processes_by_executable(self):
        p = subprocess.run([MEMSTUDY, "run", "--follow", "--", target("fork_storm"), "12",
                            "10"], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Processes followed: 13", p.stdout)
        row = [l for l in p.stdout.splitlines() if l.startswith(target("fork_storm")[:40])]
        self.assertEqual(len(row), 1, p.stdout)
        self.assertIn(" 13 ", row[0])  # one row for the 13 processes of one executable

    def test_without_follow_children_are_counted_and_named(self):
        rep, p = self.trace([target("fork_storm"), "4", "10"], extra=())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(rep["children_not_followed"], 4)
        self.assertEqual(rep["processes"], [])
        self.assertIn("--follow", p.stderr)
        # the parent's own calls only: its children's 40 mallocs are not there
        self.assertLess(rep["functions"]["malloc"]["calls"], 40)

    def adopt_waiter(self, extra=()):
        """memstudy --pid SH --follow EXTRA, SH running target-waiter in the background
        before the trace: the report and the waiter's pid."""
        # a background job's stdin is /dev/null unless redirected: fd 3 keeps ours
        sh = subprocess.Popen(["sh", "-c", "exec 3<&0; %s 300 <&3 & wait" % target("waiter")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: sh.poll() is None and sh.kill())
        self.addCleanup(sh.stdout.close)
        line = sh.stdout.readline()
        self.assertTrue(line.startswith("ready "), line)
        waiter = int(line.split()[1])
        with tempfile.NamedTemporaryFile(suffix=".json") as js:
            m = subprocess.Popen([MEMSTUDY, "--pid", str(sh.pid), "--follow"] + list(extra) +
                                 ["--json", js.name, "-o", "/dev/null"],
                                 stderr=subprocess.PIPE, text=True)
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
            with open(js.name) as f:
                rep = json.load(f)
        return rep, sh, waiter

    def test_pid_follow_takes_in_running_descendants(self):
        rep, sh, waiter = self.adopt_waiter()
        w = [q for q in rep["processes"] if q["pid"] == waiter]
        self.assertEqual(len(w), 1, rep["processes"])
        self.assertEqual(w[0]["ppid"], sh.pid)
        self.assertGreaterEqual(calls(w[0], "malloc"), 300)
        self.assertEqual(calls(w[0], "free"), 300)

    def test_pid_follow_unwind_kernel_copies_adopted_descendants(self):
        # a descendant running before the trace: its memory is its own program's, not the
        # target's the kernel's tables hold, so its stacks are copied, and whole
        rep, sh, waiter = self.adopt_waiter(("--per-allocation", "--unwind", "kernel"))
        w, = [q for q in rep["processes"] if q["pid"] == waiter]
        st = w["per_allocation"]["stacks"]
        self.assertGreaterEqual(st["unwound"], 300)
        self.assertEqual(st["finished_from_copy"], st["unwound"], st)
        self.assertEqual(st["complete"], st["unwound"], st)


if __name__ == "__main__":
    main()
