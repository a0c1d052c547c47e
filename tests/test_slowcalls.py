"""The slowest calls explained (issue 15): programs whose slowest call is known by
construction (tests/targets/slowcalls.c) - a free that trims a 64 MiB heap top, a malloc
that consolidates a million fastbin chunks, a realloc that moves by mremap, a calloc of a
fresh mapping. Each designed call is found among its function's slowest with the syscalls
strace sees, glibc's internal step named (libc6-dbg), and a time the program's own clock
brackets. Also: glibc's own calls apart from the program's, per-thread counts, and the
memory syscalls made outside allocator calls with their callers.

The ranking is by wall-clock time: on a shared machine a cheap call that was interrupted
(an IRQ, a stolen vCPU) can take longer than the designed one. So the tests check that the
designed call comes first among the calls that did work inside (syscalls or internal
steps), and that every call ranked above it did none: nothing in the allocator explains it.
"""
import os
import re
import tempfile
import unittest

from memtest import memstudy, memstudy_json, need_bpf, run, target, main

PROG = target("slowcalls")


def designed(stdout):
    """The program's own report: (function, ns, tid) of its designed call."""
    m = re.search(r"^designed (\w+) (\d+) (\d+)$", stdout, re.M)
    return m.group(1), int(m.group(2)), int(m.group(3))


def did_work(call):
    return bool(call["syscalls"] or call["internal"])


class SlowCalls(unittest.TestCase):
    def setUp(self):
        need_bpf(self)

    def trace(self, mode, opts=()):
        rep, p = memstudy_json(["run"] + list(opts) + ["--", PROG, mode], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(rep["lost_events"], 0)
        self.assertEqual(rep["slow_call_records_lost"], 0)
        return rep, p

    def designed_call(self, mode, check):
        """Trace MODE; the designed call of its function, found in slowest[] by CHECK, with
        the program's own clock for it."""
        rep, p = self.trace(mode)
        fn, own_ns, tid = designed(p.stdout)
        slowest = rep["functions"][fn]["slowest"]
        self.assertGreater(len(slowest), 0)
        self.assertEqual([c["ns"] for c in slowest],
                         sorted((c["ns"] for c in slowest), reverse=True))
        hits = [i for i, c in enumerate(slowest) if check(c)]
        self.assertEqual(len(hits), 1, slowest)
        at = hits[0]
        call = slowest[at]
        # first among the calls that did work; those ahead of it did none
        self.assertEqual([c for c in slowest[:at] if did_work(c)], [], slowest[:at])
        self.assertEqual(call["tid"], tid)
        # memstudy times the call between its probes, inside the program's own clock
        self.assertLessEqual(call["ns"], own_ns)
        self.assertGreater(call["ns"], own_ns // 2)
        self.assertEqual(call["ns"], call["user_ns"] + call["kernel_ns"] + call["offcpu_ns"])
        self.assertGreater(call["t_ns"], 0)
        self.assertLess(call["t_ns"], rep["duration_s"] * 1e9)
        self.assertFalse(call["by_glibc"])
        self.assertIn("main", call["frames"])
        return rep, call

    def test_free_that_trims_the_heap(self):
        rep, call = self.designed_call(
            "trim", lambda c: any(s["name"] == "brk" and s["delta"] < 0 for s in c["syscalls"]))
        (brk,) = call["syscalls"]
        # about the 64 MiB the program freed (65536 x 1008-byte chunks), in whole pages
        self.assertLess(brk["delta"], -60 << 20)
        self.assertEqual(brk["delta"] % 4096, 0)
        self.assertEqual(brk["bytes"], -brk["delta"])
        self.assertEqual(call["kernel_ns"], brk["ns"])
        # strace sees the same shrink: the one brk that lowers the break, by as much
        out = run(["strace", "-qq", "-T", "-e", "trace=brk", "-o", "/dev/stderr", PROG, "trim"])
        breaks = [(int(m.group(1), 16), float(m.group(2))) for m in
                  re.finditer(r"^brk\(0x[0-9a-f]+\)\s+= (0x[0-9a-f]+) <([\d.]+)>", out.stderr,
                              re.M)]
        shrinks = [(b - a, t) for (a, _), (b, t) in zip(breaks, breaks[1:]) if b < a]
        self.assertEqual(len(shrinks), 1, out.stderr)
        self.assertEqual(shrinks[0][0], brk["delta"])
        # the same work: strace's time for it within a factor of ten of memstudy's
        self.assertLess(brk["ns"] / 1e9, 10 * shrinks[0][1] + 0.001)
        self.assertLess(shrinks[0][1], 10 * brk["ns"] / 1e9 + 0.001)
        self.assertIn("trim", call["frames"][:2])

    def test_malloc_that_consolidates(self):
        rep, call = self.designed_call(
            "consolidate", lambda c: any(s["name"] == "malloc_consolidate"
                                         for s in c["internal"]))
        self.assertEqual(call["bytes"], 64 << 10)
        self.assertEqual(call["syscalls"], [])  # all of it in user space
        (step,) = call["internal"]
        self.assertEqual(step["calls"], 1)
        # the consolidation is nearly all of the call
        self.assertGreater(step["ns"], call["ns"] * 0.9)
        self.assertLessEqual(step["ns"], call["ns"])
        # and the function's table says how much of malloc's time went to it
        steps = {s["name"]: s for s in rep["functions"]["malloc"]["internal_steps"]}
        self.assertEqual(steps["malloc_consolidate"]["calls"], 1)
        self.assertGreaterEqual(steps["malloc_consolidate"]["ns"], step["ns"])
        self.assertGreater(steps["malloc_consolidate"]["share_of_time"], 0)
        self.assertTrue(rep["glibc_steps"]["traced"])

    def test_realloc_that_moves_by_mremap(self):
        rep, call = self.designed_call(
            "mremap", lambda c: any(s["name"] == "mremap" for s in c["syscalls"]))
        (mr,) = call["syscalls"]
        self.assertEqual(call["bytes"], 64 << 20)
        self.assertGreaterEqual(mr["len"], 64 << 20)
        self.assertGreaterEqual(mr["delta"], 56 << 20)
        self.assertGreater(mr["result"], 0)  # the block's new address
        self.assertEqual(rep["functions"]["realloc"]["kernel"]["syscalls"]["mremap"], 1)

    def test_calloc_of_a_fresh_mapping(self):
        rep, call = self.designed_call(
            "calloc", lambda c: any(s["name"] == "mmap" for s in c["syscalls"]))
        (mm,) = call["syscalls"]
        self.assertGreaterEqual(mm["len"], 32 << 20)
        # fresh anonymous memory is zero: glibc does not clear it, so the call touches
        # only the chunk's header page, not the 8192 pages of the block
        self.assertLessEqual(call["faults"], 2)

    def test_without_debug_symbols_says_what_libc6_dbg_adds(self):
        with tempfile.TemporaryDirectory() as empty:
            env = dict(os.environ, MEMSTUDY_DEBUG_DIR=empty)
            rep, p = memstudy_json(["run", "--", PROG, "consolidate"], self, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.count("libc6-dbg"), 1, p.stderr)
        self.assertFalse(rep["glibc_steps"]["traced"])
        self.assertIn("libc6-dbg", rep["glibc_steps"]["hint"])
        self.assertEqual(rep["overhead"]["step_probes"], {})
        for c in rep["functions"]["malloc"]["slowest"]:
            self.assertEqual(c["internal"], [])

    def test_text_report_explains_the_slow_free(self):
        p = memstudy(["run", "--no-histograms", "--", PROG, "trim"])
        self.assertEqual(p.returncode, 0, p.stderr)
        text = p.stdout
        self.assertIn("Slowest calls", text)
        part = text[text.index("Slowest calls"):]
        part = part[part.index("  free:"):]
        self.assertRegex(part, r"brk -\d+\.\d MiB")
        self.assertRegex(part, r"from: trim \(slowcalls\.c:\d+\) <- main")

    def test_glibc_own_calls_apart(self):
        rep, p = self.trace("own")
        program = int(re.search(r"^program (\d+)$", p.stdout, re.M).group(1))
        for fn in ("malloc", "free"):
            f = rep["functions"][fn]
            # the program's own: its 1000 and its 100 strdup (strdup allocates for it)
            self.assertEqual(f["calls"] - f["internal_calls"]["calls"], program, fn)
            self.assertGreater(f["internal_calls"]["calls"], 0, fn)  # fopen's FILE, stdio
        text = memstudy(["run", "--no-histograms", "--", PROG, "own"]).stdout
        self.assertRegex(text, r"malloc: of which \d+ by glibc itself")

    def test_threads_counted_per_thread_and_exit_frees_are_glibcs(self):
        rep, p = self.trace("threads")
        own = {int(t): int(n) for t, n in re.findall(r"^thread (\d+) (\d+)$", p.stdout, re.M)}
        self.assertEqual(len(own), 4)
        threads = {t["tid"]: t for t in rep["threads"]}
        for tid, n in own.items():
            t = threads[tid]
            self.assertTrue(t["exited"])
            self.assertTrue(t["comm"].startswith("target-slowcal"), t["comm"])
            self.assertEqual(t["functions"]["malloc"]["calls"], n)
            self.assertEqual(t["functions"]["malloc"]["internal_calls"], 0)
            free = t["functions"]["free"]
            # at exit glibc frees the thread's tcache and what it holds: glibc's own
            self.assertGreaterEqual(free["internal_calls"], 1)
            self.assertEqual(free["calls"] - free["internal_calls"], n)
        total = rep["functions"]["malloc"]["calls"]
        self.assertEqual(sum(t["functions"].get("malloc", {}).get("calls", 0)
                             for t in rep["threads"]), total)
        self.assertEqual(rep["threads_without_numbers"], 0)

    def test_which_heap_each_threads_blocks_came_from(self):
        # --per-allocation tells the heaps apart by their mappings: the main heap (brk),
        # arena heaps (64 MiB, aligned), mmapped chunks
        rep, p = self.trace("threads", ["--per-allocation"])
        own = {int(t): int(n) for t, n in re.findall(r"^thread (\d+) (\d+)$", p.stdout, re.M)}
        heaps = {t["tid"]: t for t in rep["per_allocation"]["threads"]}
        for tid, n in own.items():
            t = heaps[tid]
            # a thread's own arena: glibc gives each new thread one while it may
            self.assertTrue(all(h["heap"].startswith("arena heap 0x") for h in t["heaps"]), t)
            self.assertEqual(sum(h["allocations"] for h in t["heaps"]), n)
            self.assertEqual(t["allocations_from_other_heaps"], 0)

    def test_syscalls_outside_calls_have_their_callers(self):
        rep, p = self.trace("outside")
        out = rep["syscalls_outside_calls"]
        self.assertEqual(out["records_lost"], 0)
        mine = [s for s in out["by_bytes"] if "map_outside" in s["frames"]]
        self.assertEqual(len(mine), 1, out["by_bytes"][:5])
        self.assertEqual(mine[0]["syscall"], "mmap")
        self.assertEqual(mine[0]["calls"], 1)
        self.assertEqual(mine[0]["bytes"], 4 << 20)
        # every mmap outside allocator calls is in a listed stack
        listed = sum(s["calls"] for s in out["by_bytes"] if s["syscall"] == "mmap")
        mmap = rep["syscalls"]["mmap"]
        self.assertEqual(listed, mmap["calls"] - mmap["in_alloc_calls"])
        self.assertEqual(sorted(s["ns"] for s in out["by_time"]),
                         sorted(s["ns"] for s in out["by_bytes"]))

    def test_slowest_off_sends_nothing(self):
        rep, _ = self.trace("trim", ["--slowest", "0", "--no-syscall-stacks"])
        self.assertEqual(rep["functions"]["free"]["slowest"], [])
        self.assertNotIn("map_outside", str(rep["syscalls_outside_calls"]))
        self.assertEqual(rep["syscalls_outside_calls"]["calls"], 0)


if __name__ == "__main__":
    main()
