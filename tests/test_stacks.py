"""Call sites without frame pointers (issue 14, in progress): with --stack-bytes, per-allocation
stacks are unwound from the copied top of the caller's stack with the code's CFI. The targets
are built -O2 -fomit-frame-pointer: a frame-pointer walk would stop at the immediate caller."""
import os
import re
import unittest

from memtest import memstudy_json, need_bpf, target, main

HERE = os.path.dirname(os.path.abspath(__file__))


def source_line(name, marker):
    with open(os.path.join(HERE, "targets", name)) as f:
        for i, line in enumerate(f, 1):
            if marker in line:
                return i
    raise AssertionError(marker)


def site_with(rep, frame):
    """The site with FRAME in its stack that made the most allocations."""
    sites = [s for s in rep["per_allocation"]["sites"] if frame in s["frames"]]
    return max(sites, key=lambda s: s["allocations"]) if sites else None


class Stacks(unittest.TestCase):
    def setUp(self):
        need_bpf(self)

    def run_pa(self, cmd, env=None):
        rep, p = memstudy_json(["run", "--per-allocation", "--stack-bytes", "2048", "--"] + cmd,
                               self, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(rep["lost_events"], 0)
        return rep

    def test_chain_through_a_shared_library_reaches_main(self):
        n = 200
        rep = self.run_pa([target("unw_chain"), str(n)])
        s = site_with(rep, "unw_level5")
        self.assertIsNotNone(s, [x["frames"] for x in rep["per_allocation"]["sites"]])
        self.assertEqual(s["frames"][:6], ["unw_level5", "unw_level4", "unw_lib_level3",
                                           "unw_level2", "unw_level1", "main"])
        self.assertEqual(s["allocations"], n)
        self.assertEqual(s["functions"], ["malloc"])
        loc = s["locations"]
        self.assertTrue(loc[0]["file"].endswith("unw_chain.c"), loc[0])
        self.assertEqual(loc[0]["line"], source_line("unw_chain.c", "UNW_MALLOC_LINE"))
        self.assertEqual(loc[2]["module"], "libunw_lib.so")
        self.assertTrue(loc[2]["file"].endswith("unw_lib.c"))
        # module_offset is the library's own address: what addr2line -e takes
        self.assertLess(loc[2]["module_offset"], 1 << 24)
        self.assertEqual(s["title"], "unw_level5")
        stacks = rep["per_allocation"]["stacks"]
        self.assertGreaterEqual(stacks["unwound"], 2 * n)
        # every walk of the chain went all the way to _start
        self.assertGreaterEqual(stacks["ended_by_reason"]["outermost"], 2 * n)

    def test_frame_pointer_walk_alone_stops_at_the_caller(self):
        # the old way, for comparison: without the copy only the return address is known
        rep, p = memstudy_json(["run", "--per-allocation", "--stack-bytes", "0", "--",
                                target("unw_chain"), "50"], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        s = site_with(rep, "unw_level5")
        self.assertIsNotNone(s)
        self.assertNotIn("main", s["frames"])

    def test_cpp_sites_name_the_program_not_operator_new(self):
        rep = self.run_pa([target("unw_cpp"), "1000"])
        sites = [s for s in rep["per_allocation"]["sites"] if s["allocations"] >= 100]
        self.assertGreaterEqual(len(sites), 3, [s["frames"][:3] for s in sites])
        for s in sites:
            self.assertNotEqual(s["title"], "operator new(unsigned long)", s["frames"])
            self.assertTrue(any(f.startswith("shop::") for f in s["frames"]), s["frames"])
            self.assertFalse(any(f.startswith("_Z") for f in s["frames"]), "demangled")
        names = {f for s in sites for f in s["frames"]}
        self.assertIn("shop::make_orders(int)", names)
        self.assertTrue(any(f.startswith("shop::index_orders") for f in names), names)
        # operator new is the innermost frame of the vector's growth, not the site's name
        grow = [s for s in sites if "operator new(unsigned long)" in s["frames"]]
        self.assertTrue(grow)
        self.assertTrue(all(s["frames"][0] == "operator new(unsigned long)" for s in grow))

    def test_inlined_call_names_its_line(self):
        rep = self.run_pa([target("unw_chain"), "30"])
        s = [x for x in rep["per_allocation"]["sites"] if x["functions"] == ["calloc"]
             and "unw_level1" in x["frames"]]
        self.assertEqual(len(s), 1, [x["frames"] for x in rep["per_allocation"]["sites"]])
        # unw_inlined is folded into unw_level1: the line is the calloc's, in the inlined body
        self.assertEqual(s[0]["frames"][:2], ["unw_level1", "main"])
        with open(os.path.join(HERE, "targets", "unw_chain.c")) as f:
            text = f.read().splitlines()
        self.assertIn("calloc", text[s[0]["locations"][0]["line"] - 1])

    def test_short_lived_program_is_named(self):
        # a few milliseconds of life: the kernel's module records name it anyway
        rep = self.run_pa([target("unw_chain"), "3"],
                          env=dict(os.environ, MEMSTUDY_NO_PROC_MODULES="1"))
        s = site_with(rep, "unw_level5")
        self.assertIsNotNone(s, [x["frames"] for x in rep["per_allocation"]["sites"]])
        self.assertIn("main", s["frames"])

    def test_text_report_names_the_site_with_file_and_line(self):
        rep, p = memstudy_json(["run", "--per-allocation", "--stack-bytes", "2048", "-o",
                                "/dev/stdout", "--", target("unw_cpp"), "200"], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"malloc: std::.*shop::make_orders\(int\)")
        self.assertRegex(p.stdout, r"\(\S+:\d+\)")


if __name__ == "__main__":
    main()
