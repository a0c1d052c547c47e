"""Probe placement (user/probe_place.c): where memstudy puts each probe, why, and that a
moved probe still sees every call with the right arguments.

libprologues.so (tests/preload/prologues.c) is an LD_PRELOAD allocator whose entry points
start with the instruction shapes placement must decide on; glibc 2.36's own are checked
too. The decisions are read from --dry-run (no BPF), the counts from a real trace."""
import os
import re
import unittest

from memtest import TARGETS, memstudy, memstudy_json, need_bpf, target, main

LIB = os.path.join(TARGETS, "libprologues.so")

# function: (offset, emulated, words the reason must contain when the entry was kept)
EXPECTED = {
    "malloc": (0, True, None),
    "free": (3, True, None),             # past 'test rdi, rdi', on the je
    "calloc": (3, True, None),           # 'mov rax, rdi' writes nothing the probe reads
    "realloc": (0, False, "changes rsi"),
    "reallocarray": (9, True, None),     # past n*size into rsi, on the jo (as glibc 2.36)
    "posix_memalign": (7, True, None),   # past the rip-relative cmpb
    "memalign": (0, False, "stack pointer"),
    "aligned_alloc": (0, False, "no emulated instruction in the first 12"),
    "valloc": (0, False, "a branch lands inside"),
    "pvalloc": (5, True, None),          # on the nop: the size from rsi, where it was copied
}

# what --dry-run adds for a probe that reads an argument from where the prologue moved it
NOTES = {"reallocarray": "reads n*size from rsi", "pvalloc": "reads argument 1 from rsi"}

LINE = re.compile(r"^  (\w+)\s+(\w+)\+(\d+)\s+(.*?)\s+(emulated|SINGLE-STEPPED)(?:: (.*))?$")


def placements(args, env=None):
    p = memstudy(["run", "--dry-run", "--"] + args, env=env)
    assert p.returncode == 0, p.stderr
    got = {}
    for line in p.stdout.splitlines():
        m = LINE.match(line)
        if m:
            got[m.group(1)] = (int(m.group(3)), m.group(5) == "emulated", m.group(6) or "")
    return got, p.stdout


class ProbePlacement(unittest.TestCase):
    def test_each_prologue_shape(self):
        got, out = placements([target("allocs"), "1"], env=dict(os.environ, LD_PRELOAD=LIB))
        self.assertIn("allocator: " + LIB, out)
        for fn, (off, emulated, why) in EXPECTED.items():
            with self.subTest(fn=fn):
                self.assertIn(fn, got, out)
                self.assertEqual(got[fn][:2], (off, emulated), got[fn])
                if why:
                    self.assertIn(why, got[fn][2])
                    self.assertIn("kept the entry", got[fn][2])
                else:
                    self.assertIn(NOTES.get(fn, ""), got[fn][2])
                    self.assertEqual(bool(got[fn][2]), fn in NOTES, got[fn])

    def test_glibc(self):
        """glibc 2.36 on Debian 12: nothing is single-stepped. reallocarray's first three
        instructions put n*size in rsi, where the probe past them reads it."""
        if os.confstr("CS_GNU_LIBC_VERSION") != "glibc 2.36":
            self.skipTest("these are glibc 2.36's prologues")
        got, out = placements(["/bin/true"])
        self.assertEqual(got["free"][:2], (3, True))
        for fn in ("posix_memalign", "memalign", "valloc", "pvalloc"):
            self.assertEqual(got[fn][:2], (7, True), fn)
        for fn in ("malloc", "calloc", "realloc"):
            self.assertEqual(got[fn][:2], (0, True), fn)
        self.assertEqual(got["reallocarray"][:2], (9, True))
        self.assertIn(NOTES["reallocarray"], got["reallocarray"][2])
        allocator, _, steps = out.partition("glibc's internal steps")
        self.assertNotIn("SINGLE-STEPPED", allocator)
        self.assertIn("aligned_alloc   same address as memalign", out)
        # glibc's internal steps (libc6-dbg): a return probe needs the entry, and two of
        # them start by moving rsp, which the kernel cannot emulate; they run rarely
        stepped = sorted(re.findall(r"^  (\w+) .*SINGLE-STEPPED$", steps, re.M))
        self.assertEqual(stepped, ["munmap_chunk", "new_heap"], steps)

    def test_moved_probes_count_every_call_and_its_arguments(self):
        need_bpf(self)
        n = 500
        env = dict(os.environ, LD_PRELOAD=LIB)
        full, p = memstudy_json(["run", "--", target("allocs"), str(n)], self, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        # a warning for each probe left on a single-stepped instruction, and only those
        warned = re.findall(r"^memstudy: warning: (\w+)'s probe is on an instruction the "
                            r"kernel must single-step", p.stderr, re.M)
        self.assertEqual(sorted(warned), sorted(f for f, e in EXPECTED.items() if not e[1]))
        base, _ = memstudy_json(["run", "--", target("allocs"), "0"], self, env=env)
        self.assertEqual(full["target"]["allocator"], LIB)
        diff = {f: full["functions"][f]["calls"] - base["functions"][f]["calls"]
                for f in EXPECTED}
        self.assertEqual(diff, dict({f: n for f in EXPECTED}, free=7 * n))
        by = {f: full["functions"][f]["bytes"] - base["functions"][f]["bytes"]
              for f in EXPECTED}
        # sizes come from the argument registers: wrong if a moved probe read them late
        self.assertEqual(by, dict(malloc=100 * n, calloc=100 * n, realloc=200 * n,
                                  reallocarray=300 * n, free=0, posix_memalign=100 * n,
                                  memalign=100 * n, aligned_alloc=128 * n, valloc=100 * n,
                                  pvalloc=100 * n))
        for f in EXPECTED:
            self.assertEqual(full["functions"][f]["failed"], 0, f)
            probe = full["overhead"]["probes"][f]
            self.assertEqual((probe["offset"], probe["emulated"]), EXPECTED[f][:2], f)
        self.assertEqual(full["lost_events"], 0)


class ProbeCosts(unittest.TestCase):
    def setUp(self):
        need_bpf(self)

    def test_costs_measured_at_the_end_and_used_in_the_estimate(self):
        rep, p = memstudy_json(["run", "--", target("allocs"), "200"], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        ov = rep["overhead"]
        c = ov["per_hit"]
        self.assertTrue(c["measured"])
        # an emulated entry trap is well under a single-stepped one (docs/performance.md)
        self.assertTrue(100 < c["entry_emulated_ns"] < 20000, c)
        self.assertTrue(100 < c["return_ns"] < 20000, c)
        self.assertGreater(c["entry_single_step_ns"], 2 * c["entry_emulated_ns"], c)
        est = 0
        for f, probe in ov["probes"].items():
            entry = c["entry_emulated_ns"] if probe["emulated"] else c["entry_single_step_ns"]
            self.assertAlmostEqual(probe["cost_per_call_ns"],
                                   entry + c["return_ns"] + c["programs_ns"], delta=2)
            est += rep["functions"][f]["calls"] * probe["cost_per_call_ns"]
        self.assertEqual(ov["estimated_ns"], est)
        self.assertEqual(ov["probe_hits"],
                         2 * sum(rep["functions"][f]["calls"] for f in ov["probes"]))

    def test_no_calibrate_uses_the_documented_figures(self):
        rep, p = memstudy_json(["run", "--no-calibrate", "--", target("allocs"), "10"], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        c = rep["overhead"]["per_hit"]
        self.assertFalse(c["measured"])
        self.assertEqual((c["entry_emulated_ns"], c["entry_single_step_ns"], c["return_ns"]),
                         (900, 13400, 750))


if __name__ == "__main__":
    main()
