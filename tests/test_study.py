#!/usr/bin/env python3
"""memstudy study: the quick study completes, writes its report, data and plots, and the
mechanisms its report names agree with the traced counts in the raw JSON it saved."""
import csv
import json
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from memtest import MEMSTUDY, main, need_bpf, run  # noqa: E402


def free_kernel(raw_dir, name):
    """Kernel work charged to free() in the free phase of raw/NAME.memstudy.json."""
    with open(os.path.join(raw_dir, name + ".memstudy.json")) as f:
        d = json.load(f)
    ph = [p for p in d["phases"] if p["name"] == "free"]
    assert len(ph) == 1, "one free phase in %s" % name
    fn = ph[0]["functions"]["free"]
    return fn["calls"], fn["kernel"]["syscalls"], ph[0]["syscalls"]


class StudyCLI(unittest.TestCase):
    def test_help_teaches(self):
        p = run([MEMSTUDY, "study", "--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        for word in ("untraced", "traced", "--quick", "--case", "--tunable",
                     "M_TRIM_THRESHOLD", "GLIBC_TUNABLES", "exponent", "gnuplot-nox", "root"):
            self.assertIn(word, p.stdout)

    def test_bad_option(self):
        p = run([MEMSTUDY, "study", "--no-such-option"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("--help", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_bad_values_say_what_to_do(self):
        for args, word in ((["--max", "lots"], "--max"),
                           (["--orders", "sideways"], "fwd"),
                           (["--case", "churn-up-1040-1e3", "--list-cases"], "churn-rev-1040-1e5"),
                           (["--tunable", "M_TOP_PAD=1M"], "--case"),
                           (["--case", "churn-rev-1040-1e3", "--tunable", "M_NOPE=1"],
                            "M_TRIM_THRESHOLD")):
            p = run([MEMSTUDY, "study"] + args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(word, p.stderr, args)

    def test_list_cases_and_memory_bound(self):
        # The plan needs no root: huge blocks get a lowered N ladder, and the report
        # of what was skipped says why.
        p = run([MEMSTUDY, "study", "--list-cases", "--max", "1e7"])
        self.assertEqual(p.returncode, 0, p.stderr)
        names = [line.split()[0] for line in p.stdout.splitlines() if line.startswith(("churn", "array"))]
        self.assertIn("churn-rev-1040-1e6", names)
        self.assertIn("array-1040-1e6", names)
        self.assertNotIn("churn-rev-200000-1e6", names)
        self.assertIn("skipped:", p.stdout)
        self.assertIn("200000 B at N=1e5", p.stdout)
        p = run([MEMSTUDY, "study", "--case", "churn-rev-1040-1e4", "--tunable",
                 "M_TRIM_THRESHOLD=64M", "--tunable", "M_TOP_PAD=1M", "--list-cases"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("glibc.malloc.trim_threshold=67108864", p.stdout)
        self.assertIn("glibc.malloc.trim_threshold=67108864:glibc.malloc.top_pad=1048576",
                      p.stdout)
        self.assertEqual(len(p.stdout.strip().splitlines()), 4)  # default, each, both

    def test_not_root(self):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root to drop to another user")
        p = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", MEMSTUDY,
                 "study", "--quick", "-o", "/tmp/memstudy-study-never"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("sudo", p.stderr)


class StudyQuick(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="memstudy-study-")
        cls.out = os.path.join(cls.dir, "out")
        cls.proc = None

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def quick(self):
        need_bpf(self)
        if StudyQuick.proc is None:
            # a relative output directory, as the README's default one is
            StudyQuick.proc = run([MEMSTUDY, "study", "--quick", "--output", "out"],
                                  cwd=self.dir, timeout=300)
        p = StudyQuick.proc
        self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def report(self):
        with open(os.path.join(self.out, "report.md")) as f:
            return f.read()

    def test_files(self):
        p = self.quick()
        # not a tty here: one line per case on stderr
        self.assertRegex(p.stderr, r"\[1/\d+\] \S+: free ")
        for name in ("report.md", "cases.csv", "plots.gp", "plan.json"):
            self.assertTrue(os.path.getsize(os.path.join(self.out, name)) > 0, name)
        pngs = [f for f in os.listdir(self.out) if f.endswith(".png")]
        if shutil.which("gnuplot"):
            self.assertIn("free-vs-n.png", pngs)
            for png in pngs:
                with open(os.path.join(self.out, png), "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", png)
        with open(os.path.join(self.out, "cases.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertTrue(rows)
        raw = os.path.join(self.out, "raw")
        for r in rows:
            self.assertEqual(r["status"], "ok", r["name"])
            for suffix in (".memstudy.json", ".traced-workload.json", ".untraced-1.json"):
                with open(os.path.join(raw, r["name"] + suffix)) as f:
                    json.load(f)

    def test_csv_matches_raw(self):
        self.quick()
        raw = os.path.join(self.out, "raw")
        with open(os.path.join(self.out, "cases.csv")) as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            calls, sysc, phase_sys = free_kernel(raw, r["name"])
            self.assertEqual(int(r["free_calls"]), calls, r["name"])
            self.assertEqual(int(r["free_brk"]), sysc["brk"], r["name"])
            self.assertEqual(int(r["free_munmap"]), sysc["munmap"], r["name"])
            self.assertEqual(int(r["free_brk_shrink_bytes"]), phase_sys["brk"]["shrink_bytes"])
            with open(os.path.join(raw, r["name"] + ".untraced-1.json")) as f:
                wl = json.load(f)
            free = [p for p in wl["phases"] if p["name"] == "free"][0]
            self.assertAlmostEqual(float(r["free_s"]), free["wall_s"], places=6)

    def verdict(self, text, name):
        m = re.search(r"^- \*\*%s\*\*: (.*)$" % re.escape(name), text, re.M)
        self.assertTrue(m, "no verdict for %s in report.md" % name)
        return m.group(1)

    def test_reverse_order_mechanism(self):
        self.quick()
        text = self.report()
        raw = os.path.join(self.out, "raw")
        for n in ("1e3", "1e4"):
            name = "churn-rev-1040-" + n
            v = self.verdict(text, name)
            self.assertIn("one brk shrink per released page", v)
            m = re.search(r"(\d+) brk shrinks? for (\d+) frees?", v)
            self.assertTrue(m, v)
            calls, sysc, phase_sys = free_kernel(raw, name)
            self.assertEqual(int(m.group(1)), sysc["brk"])
            self.assertEqual(int(m.group(2)), calls)
            self.assertEqual(calls, int(float(n)))
            # one page per shrink: N x 1040 bytes need about N x 1056 / 4096 shrinks
            self.assertGreater(sysc["brk"], calls * 1040 // 4096 * 0.9)
            m = re.search(r"([\d.]+) MiB released", v)
            self.assertAlmostEqual(float(m.group(1)), phase_sys["brk"]["shrink_bytes"] / 2**20,
                                   places=1)
        # forward order: the same memory goes back in one shrink at the end
        v = self.verdict(text, "churn-fwd-1040-1e4")
        self.assertNotIn("one brk shrink per released page", v)
        m = re.search(r"(\d+) brk shrinks? for (\d+) frees?", v)
        self.assertTrue(m, v)
        self.assertLessEqual(int(m.group(1)), 3)

    def test_above_mmap_threshold_mechanism(self):
        self.quick()
        text = self.report()
        raw = os.path.join(self.out, "raw")
        names = re.findall(r"^- \*\*(churn-\w+-200000-\w+)\*\*", text, re.M)
        self.assertTrue(names, "no 200000-byte case in the report")
        for name in names:
            v = self.verdict(text, name)
            self.assertIn("every free was a munmap", v)
            self.assertIn("mmap threshold", v)
            m = re.search(r"(\d+) munmaps? for (\d+) frees?", v)
            self.assertTrue(m, v)
            calls, sysc, _ = free_kernel(raw, name)
            count = float(name.rsplit("-", 1)[1])
            self.assertEqual(int(m.group(1)), sysc["munmap"])
            self.assertEqual(sysc["munmap"], count)  # one munmap per block
            self.assertEqual(int(m.group(2)), calls)
            self.assertEqual(calls, count)

    def test_report_sections(self):
        self.quick()
        text = self.report()
        for s in ("## Scaling of free time with N", "## Verdicts", "## Every run",
                  "founding notes", "## Left out or reduced", "mmap threshold"):
            self.assertIn(s, text)
        # an exponent per order and size, computed, not left blank; --quick has two N, so
        # it is worded as the slope between two points, never as a fit
        self.assertRegex(text, r"\| churn rev 1040 B \| 1e3 - 1e4 \| \d+\.\d\d \(slope "
                               r"between two points, not a fit\) \|")
        self.assertNotIn("fit on 2 N", text)
        self.assertRegex(text, r"Between N=1e3 and N=1e4 free time grows as N\^\d+\.\d\d "
                               r"\(\w[\w ]*\): the slope between two points, not a fit\.")

    def test_runs_worded_by_their_number(self):
        # --quick runs each case once untraced: no "median" of one run anywhere
        self.quick()
        text = self.report()
        self.assertIn("| untraced runs per case | 1 run, no median |", text)
        self.assertRegex(text, r"\| churn-rev-1040-1e4 \| 1e4 \| 1 run, no median \|")
        self.assertNotRegex(text, r"median of 1\b")
        self.assertIn("Untraced (1 run, no median), the free phase took",
                      self.verdict(text, "churn-rev-1040-1e4"))
        # one free per array case: its latency is that call's, not a median
        v = self.verdict(text, "array-1040-1e4")
        self.assertIn("Traced, the one free took", v)
        self.assertNotIn("at the median", v)

    def test_captions_say_how_each_share_was_measured(self):
        # (named to run before test_from_reanalyses, which rewrites the report without plots)
        self.quick()
        text = self.report()
        if not shutil.which("gnuplot"):
            self.skipTest("gnuplot is not installed: no figures")
        self.assertIn("![kernel-share.png](kernel-share.png)\n\n*Two different measures, "
                      "not one quantity twice.", text)
        self.assertIn("getrusage's sys / (user + sys) of the free phase, split by scheduler "
                      "ticks", text)
        self.assertIn("![fault-cost.png](fault-cost.png)", text)

    def test_kernel_shares_say_how_they_were_measured(self):
        self.quick()
        text = self.report()
        self.assertNotIn("(untraced / traced)", text)
        self.assertIn("kernel share of free CPU, untraced (getrusage ticks)", text)
        self.assertIn("syscall share of time in free, traced (tracepoints)", text)
        self.assertIn("two different measures", text)
        v = self.verdict(text, "churn-rev-1040-1e4")
        self.assertIn("in the kernel by getrusage's tick-based user/sys split", v)
        self.assertIn("of the time inside free by the tracepoints' timestamps", v)
        with open(os.path.join(self.out, "plots.gp")) as f:
            gp = f.read()
        share = gp[gp.index("set output 'kernel-share.png'"):]
        self.assertIn("getrusage's tick-based user/sys split", share)
        self.assertIn("t 'untraced, getrusage:", share)
        self.assertIn("t 'traced, tracepoints:", share)

    def test_kernel_time_per_fault(self):
        # each phase's getrusage sys time over its faults, in the report and cases.csv,
        # equal to what the workload's own JSON says
        self.quick()
        text = self.report()
        self.assertIn("## Kernel time per page fault, by phase", text)
        self.assertIn("First-touch page faults (alloc phase", text)
        self.assertIn("First-touch page faults (touch phase", text)  # array
        with open(os.path.join(self.out, "cases.csv")) as f:
            rows = {r["name"]: r for r in csv.DictReader(f) if r["variant"] == "default"}
        raw = os.path.join(self.out, "raw")
        for name in ("churn-rev-1040-1e4", "array-1040-1e4"):
            with open(os.path.join(raw, name + ".untraced-1.json")) as f:
                wl = {p["name"]: p for p in json.load(f)["phases"]}
            m = re.search(r"^\| %s \| 1e4 \|(.*)$" % re.escape(name),
                          text[text.index("## Kernel time per page fault"):], re.M)
            self.assertTrue(m, name)
            cells = [c.strip() for c in m.group(1).split("|")]
            for i, ph in enumerate(("alloc", "touch", "free")):
                faults = wl[ph]["minflt"] + wl[ph]["majflt"]
                self.assertEqual(int(cells[3 * i]), faults, (name, ph))
                col = rows[name][ph + "_us_per_fault"]
                if not faults:
                    self.assertEqual(cells[3 * i + 2], "-")
                    self.assertEqual(col, "")
                    continue
                us = wl[ph]["sys_s"] * 1e6 / faults
                self.assertAlmostEqual(float(col), us, places=3)
                self.assertTrue(cells[3 * i + 2].startswith("%.2f µs" % us), cells)

    def test_from_reanalyses(self):
        self.quick()
        before = self.report()
        p = run([MEMSTUDY, "study", "--from", self.out, "--no-plots"])
        self.assertEqual(p.returncode, 0, p.stderr)
        after = self.report()
        for name in ("churn-rev-1040-1e4", "churn-fwd-200000-1e3"):
            self.assertEqual(self.verdict(before, name), self.verdict(after, name))

    def test_page(self):
        """report.html in a real browser: report.md's figures, tables and verdicts."""
        from browser import Browser, CHROMIUM
        self.quick()
        if not os.path.exists(CHROMIUM):
            self.fail("chromium is missing: build.sh installs it")
        # the figures again (another test re-analyses with --no-plots)
        p = run([MEMSTUDY, "study", "--from", self.out])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("report.html", p.stderr)
        md = self.report()
        b = Browser()
        try:
            b.open(os.path.join(self.out, "report.html"))
            b.wait_for("document.body.dataset.drawn === '1'")
            self.assertEqual(b.problems(), [])
            for url in b.requests():
                self.assertTrue(url.startswith(("file://", "data:")), url)
            figures = len(re.findall(r"^!\[", md, re.M))
            shown = b.eval("[...document.images].filter(i => i.complete && i.naturalWidth > 0).length")
            self.assertEqual(shown, figures)
            if shutil.which("gnuplot"):
                self.assertGreater(figures, 0)
            tables = len(re.findall(r"^\|.*\n\|[-:| ]+\|$", md, re.M))
            self.assertEqual(b.eval("memstudyPage.tables.length"), tables)
            text = " ".join(b.eval("document.body.innerText").split())
            verdict = re.sub(r"[*`]", "", self.verdict(md, "churn-rev-1040-1e4"))
            self.assertIn(" ".join(verdict.split())[:80], text)
            # the case table sorts by a click on a column's head
            col = b.eval("(() => { const t = memstudyPage.tables[memstudyPage.tables.length - 1];"
                         " const th = [...t.querySelectorAll('th')].find(h => h.textContent === 'N');"
                         " th.id = 'sort-me'; return [...th.parentNode.children].indexOf(th); })()")
            b.click("#sort-me")
            values = b.eval("[...memstudyPage.tables[memstudyPage.tables.length - 1]"
                            ".querySelectorAll('tbody tr')].map(r => parseFloat(r.cells[%d].textContent))" % col)
            self.assertTrue(values == sorted(values) or values == sorted(values, reverse=True), values)
            shots = os.path.join(os.environ.get("MEMSTUDY_BUILD", "build"), "test-screenshots")
            os.makedirs(shots, exist_ok=True)
            b.screenshot(os.path.join(shots, "study-page.png"))
        finally:
            b.close()


if __name__ == "__main__":
    main()
