"""memstudy-workload's command line: --list, --help, bad options, --json shape,
determinism for a --seed, and the memstudy_phase symbol the tracer probes."""
import json
import os
import subprocess
import unittest

import memtest

W = memtest.WORKLOAD
NAMES = ["churn", "array", "malloc", "calloc", "realloc", "brk", "mmap", "memalign", "alloca",
         "vla", "threads", "fragment", "trim", "thresholds"]
CALLS = ["malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
         "aligned_alloc", "memalign", "valloc", "pvalloc"]
PHASE_KEYS = {"name", "wall_s", "user_s", "sys_s", "minflt", "majflt", "rss_kb_before",
              "rss_kb_after", "brk_before", "brk_after"}
# small arguments so every workload runs in a blink
SMALL = {"churn": ["--count", "100"], "array": ["--count", "100"], "malloc": ["--count", "100"],
         "calloc": ["--count", "100"], "realloc": ["--rounds", "2"], "brk": ["--count", "4"],
         "mmap": ["--count", "2", "--size", "64K"], "memalign": ["--count", "50"],
         "alloca": ["--count", "10"], "vla": ["--count", "10"],
         "threads": ["--count", "100", "--threads", "2"], "fragment": ["--count", "100"],
         "trim": ["--count", "100"], "thresholds": ["--count", "2"]}


def run_json(name, *args):
    p = memtest.run([W, name, "--json"] + list(args))
    if p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (name, p.returncode, p.stderr))
    return json.loads(p.stdout), p


class Cli(unittest.TestCase):
    def test_list_names_every_workload_with_a_description(self):
        p = memtest.run([W, "--list"])
        self.assertEqual(p.returncode, 0)
        listed = {}
        for line in p.stdout.splitlines():
            name, desc = line.split(None, 1)
            listed[name] = desc
        self.assertEqual(sorted(listed), sorted(NAMES))
        for name, desc in listed.items():
            self.assertGreater(len(desc), 20, name)

    def test_help_teaches(self):
        p = memtest.run([W, "--help"])
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage: memstudy-workload NAME", p.stdout)
        for name in NAMES:
            self.assertIn(name, p.stdout)
        for opt in ("--json", "--wait", "--seed"):
            self.assertIn(opt, p.stdout)

    def test_each_workload_help_lists_only_its_options(self):
        for name in NAMES:
            p = memtest.run([W, name, "--help"])
            self.assertEqual(p.returncode, 0, name)
            self.assertTrue(p.stdout.startswith("memstudy-workload %s:" % name))
            self.assertIn("--json", p.stdout)
        churn = memtest.run([W, "churn", "--help"]).stdout
        self.assertIn("--order", churn)
        self.assertIn("--no-touch", churn)
        self.assertNotIn("--threads", churn)
        self.assertIn("--threads", memtest.run([W, "threads", "--help"]).stdout)

    def test_no_arguments_is_a_usage_error(self):
        p = memtest.run([W])
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage:", p.stderr)

    def test_bad_options_give_one_line_and_exit_2(self):
        cases = [
            (["nosuch"], "unknown workload 'nosuch'"),
            (["--json", "churn"], "NAME comes first"),
            (["churn", "--count", "abc"], "bad --count 'abc'"),
            (["churn", "--count", "1.5"], "bad --count '1.5'"),
            (["churn", "--count", "-3"], "bad --count '-3'"),
            (["churn", "--count"], "'--count' needs a value"),
            (["churn", "--size", "0"], "bad --size '0'"),
            (["churn", "--size", "12Q"], "bad --size '12Q'"),
            (["churn", "--order", "sideways"], "bad --order 'sideways'"),
            (["churn", "--threads", "2"], "'--threads' does not apply"),
            (["churn", "--frobnicate"], "unknown option '--frobnicate'"),
            (["churn", "stray"], "unexpected argument 'stray'"),
            (["threads", "--threads", "0"], "bad --threads '0'"),
            (["memalign", "--align", "24"], "bad --align '24'"),
            (["alloca", "--count", "1e6", "--size", "4096"], "must fit the stack"),
            (["threads", "--rounds", "50"], "--rounds 50 is too many"),
        ]
        for args, msg in cases:
            p = memtest.run([W] + args)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(p.stdout, "", args)
            lines = p.stderr.splitlines()
            self.assertEqual(len(lines), 1, (args, p.stderr))
            self.assertIn(msg, lines[0])
            self.assertTrue(lines[0].startswith("memstudy-workload: "), lines[0])

    def test_count_accepts_e_notation_and_size_suffixes(self):
        r, _ = run_json("churn", "--count", "1e3", "--size", "2K")
        self.assertEqual(r["params"]["count"], 1000)
        self.assertEqual(r["params"]["size"], 2048)
        self.assertEqual(r["calls"]["malloc"], {"calls": 1000, "bytes": 2048000})

    def test_json_shape_for_every_workload(self):
        for name in NAMES:
            r, p = run_json(name, *SMALL[name])
            self.assertEqual(r["workload"], name)
            self.assertEqual(r["pid"] > 0, True)
            self.assertEqual(r["page_size"], os.sysconf("SC_PAGE_SIZE"))
            self.assertEqual(sorted(r["calls"]), sorted(CALLS), name)
            for c in r["calls"].values():
                self.assertEqual(sorted(c), ["bytes", "calls"])
            self.assertEqual("syscalls" in r, name in ("brk", "mmap"), name)
            self.assertGreaterEqual(len(r["phases"]), 2, name)
            for ph in r["phases"]:
                self.assertEqual(set(ph), PHASE_KEYS, name)
                self.assertLessEqual(len(ph["name"]), 31)
                self.assertGreaterEqual(ph["wall_s"], 0)
                self.assertGreaterEqual(ph["minflt"], 0)
                self.assertGreater(ph["rss_kb_before"], 0)
                int(ph["brk_before"], 16)
                int(ph["brk_after"], 16)
            self.assertIsInstance(r["results"], dict)
            # stdout is exactly one JSON object and a newline
            self.assertEqual(p.stdout.count("\n"), 1, name)
            # allocator bytes balance: what was allocated was freed, by the workload's own count
            if name not in ("realloc",):
                alloc = sum(r["calls"][k]["calls"] for k in CALLS if k not in ("free", "realloc",
                                                                                "reallocarray"))
                self.assertEqual(alloc, r["calls"]["free"]["calls"], name)

    def test_text_output_by_default(self):
        p = memtest.run([W, "churn", "--count", "10"])
        self.assertEqual(p.returncode, 0)
        self.assertIn("workload churn", p.stdout)
        self.assertIn("malloc 10 (10400 bytes), free 10 (10400 bytes)", p.stdout)
        for phase in ("alloc", "touch", "free"):
            self.assertRegex(p.stdout, r"\n%s +[0-9.]+" % phase)

    def test_free_order_follows_order_and_seed(self):
        def fnv(order):
            h = 1469598103934665603
            for i in order:
                h = ((h ^ i) * 1099511628211) & (2 ** 64 - 1)
            return h >> 1

        def order_hash(*args):
            r, _ = run_json("churn", "--count", "500", *args)
            return r["results"]["free_order_hash"]

        self.assertEqual(order_hash("--order", "fwd"), fnv(range(500)))
        self.assertEqual(order_hash("--order", "rev"), fnv(reversed(range(500))))
        a = order_hash("--order", "random", "--seed", "7")
        self.assertEqual(a, order_hash("--order", "random", "--seed", "7"))
        self.assertNotEqual(a, order_hash("--order", "random", "--seed", "8"))
        self.assertNotIn(a, (fnv(range(500)), fnv(reversed(range(500)))))

    def test_phase_marker_symbol_for_the_tracer(self):
        out = subprocess.run(["readelf", "-sW", W], capture_output=True, text=True).stdout
        rows = [l.split() for l in out.splitlines() if l.endswith(" memstudy_phase")]
        # present in .symtab and .dynsym (-rdynamic), a global default-visibility function
        self.assertGreaterEqual(len(rows), 2, out[-500:])
        for row in rows:
            self.assertEqual(row[3:6], ["FUNC", "GLOBAL", "DEFAULT"])
        sections = subprocess.run(["readelf", "-SW", W], capture_output=True, text=True).stdout
        self.assertIn(".symtab", sections)

    def test_no_touch_drops_the_touch_phase(self):
        r, _ = run_json("churn", "--count", "100", "--no-touch")
        self.assertEqual([p["name"] for p in r["phases"]], ["alloc", "free"])
        self.assertFalse(r["params"]["touch"])


if __name__ == "__main__":
    memtest.main()
