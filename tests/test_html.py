"""memstudy report --html and the study's report.html, opened in a real browser (Debian's
chromium, headless, driven over the DevTools protocol): no console error and no request
beyond the file; the flame graph's frames are the recorded program's call sites, and
switching its weight gives each the width its numbers say; the timeline's last point is the
report's; the slowest calls and the unmaps are there; the tables sort; a screenshot of each
view goes to the build tree (test-screenshots/); a recording of a million allocations opens
in under 3 s. The ground truth is the recorded program's own counts (target-page_sites)."""
import csv
import json
import os
import shutil
import tempfile
import unittest

from memtest import BUILD, WORKLOAD, IN_CI, need_bpf, target, memstudy, main
from browser import Browser, BrowserError, CHROMIUM

SHOTS = os.path.join(BUILD, "test-screenshots")
PAGE = 4096
FUNCS = ("many_small", "big_touched", "leak_resident")
# what the page's weights are, from a call site of the report's JSON (docs/json.md)
WEIGHT_OF = {
    "bytes": lambda s: s["bytes"],
    "live": lambda s: s["live_bytes_at_end"],
    "faults": lambda s: s["page_faults"],
    "resident": lambda s: s["live_faulted_pages"] * PAGE,
    "kernel_ns": lambda s: s["kernel_ns"],
    "calls": lambda s: s["allocations"],
}


def need_chromium(testcase):
    if not os.path.exists(CHROMIUM):
        why = "chromium is missing (build.sh installs it)"
        if IN_CI:
            testcase.fail(why + " (CI=true: failing, not skipping)")
        testcase.skipTest(why)


# the flame graph's boxes have reached their widths and their labels (its transitions done)
FLAME_SETTLED = ("[...document.querySelectorAll('#flame-graph g.frame')].every(g =>"
                 " Math.abs(+g.querySelector('rect').getAttribute('width') - +g.getAttribute('width')) < 0.01"
                 " && (g.querySelector('div').style.display === 'none' || g.querySelector('div').textContent))")


def frames_js():
    return ("[...document.querySelectorAll('#flame-graph g.frame')]"
            ".map(g => [g.getAttribute('name'), +g.getAttribute('width')])")


class RecordingPage(unittest.TestCase):
    """One recording of target-page_sites, its report (JSON, timeline CSV) and its page,
    opened once for the class."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="memstudy-html.")
        cls.browser = None
        cls.setup_error = None
        if os.geteuid() != 0 or not os.path.exists(CHROMIUM):
            return
        cls.rec = rec = os.path.join(cls.dir, "page.rec")
        cls.html = os.path.join(cls.dir, "page.html")
        p = memstudy(["record", "-o", rec, "--", target("page_sites")])
        if p.returncode:
            cls.setup_error = "memstudy record failed: " + p.stderr
            return
        cls.own = json.loads(p.stdout.strip().splitlines()[-1])
        js, tl = os.path.join(cls.dir, "report.json"), os.path.join(cls.dir, "tl.csv")
        p = memstudy(["report", "--json", js, "-o", "/dev/null", "--timeline", tl, rec])
        if p.returncode:
            cls.setup_error = "memstudy report failed: " + p.stderr
            return
        with open(js) as f:
            cls.report = json.load(f)
        with open(tl) as f:
            cls.timeline = list(csv.DictReader(f))
        p = memstudy(["report", "--html", cls.html, rec])
        if p.returncode:
            cls.setup_error = "memstudy report --html failed: " + p.stderr
            return
        cls.browser = Browser()
        cls.browser.open(cls.html)
        cls.browser.wait_for("document.body.dataset.drawn === '1'")
        os.makedirs(SHOTS, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        if cls.browser:
            cls.browser.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        need_bpf(self)
        need_chromium(self)
        if self.setup_error:
            self.fail(self.setup_error)
        self.b = self.browser

    def sites_of(self, fn):
        return [s for s in self.report["per_allocation"]["sites"] if fn in s["frames"]]

    def weigh(self, weight):
        """Each function's share of the whole under WEIGHT, from the report's JSON."""
        of = WEIGHT_OF[weight]
        total = sum(of(s) for s in self.report["per_allocation"]["sites"])
        return {fn: sum(of(s) for s in self.sites_of(fn)) / total for fn in FUNCS}, total

    def widths(self):
        """Each frame name's width in the flame graph, as a share of the root's, and the
        root's width in pixels."""
        got = {}
        for name, w in self.b.eval(frames_js()):
            got[name] = got.get(name, 0) + w
        root = got.get("all")
        self.assertTrue(root, "no root frame in the flame graph")
        return {k: v / root for k, v in got.items()}, root

    def test_report_has_the_programs_counts(self):
        # the page draws the report's JSON; the JSON has the program's own numbers
        own = self.own
        small, = self.sites_of("many_small")
        big, = self.sites_of("big_touched")
        leak, = self.sites_of("leak_resident")
        self.assertEqual(small["allocations"], own["many_small"]["calls"])
        self.assertEqual(small["bytes"], own["many_small"]["bytes"])
        self.assertEqual(big["allocations"], own["big_touched"]["calls"])
        self.assertEqual(big["bytes"], own["big_touched"]["bytes"])
        self.assertGreaterEqual(big["page_faults"], own["big_touched"]["pages_written"])
        self.assertEqual(leak["live_bytes_at_end"], own["leak_resident"]["bytes"])
        self.assertEqual(leak["live_faulted_pages"], own["leak_resident"]["resident_pages"])
        data = self.b.eval("memstudyPage.data.report.per_allocation.sites.length")
        self.assertEqual(data, len(self.report["per_allocation"]["sites"]))

    def test_no_errors_and_no_network(self):
        self.assertEqual(self.b.problems(), [])
        for url in self.b.requests():
            self.assertTrue(url.startswith(("file://", "data:")), url)
        with open(self.html) as f:
            text = f.read()
        self.assertNotIn("<script src", text)
        self.assertNotIn("<link", text)

    def test_flame_graph_frames(self):
        self.b.eval("memstudyPage.setWeight('bytes')")
        names = {n for n, _ in self.b.eval(frames_js())}
        for fn in ("all", "main") + FUNCS:
            self.assertIn(fn, names)

    def test_weight_switch_widths(self):
        widest = {"bytes": "big_touched", "faults": "big_touched", "calls": "many_small",
                  "live": "leak_resident", "resident": "leak_resident"}
        for weight in ("bytes", "calls", "faults", "live", "resident", "kernel_ns"):
            self.b.click("label[data-weight=%s]" % weight)
            self.b.wait_for("memstudyPage.weight === %s" % json.dumps(weight))
            want, total = self.weigh(weight)
            got, px = self.widths()
            for fn in FUNCS:
                if want[fn] * px < 1:  # frames under a pixel are not drawn (minFrameSize)
                    self.assertNotIn(fn, got, "%s weighs %g of the %s" % (fn, want[fn], weight))
                else:
                    self.assertAlmostEqual(got.get(fn, 0), want[fn], delta=1e-6,
                                           msg="%s under %s" % (fn, weight))
            if weight in widest:
                self.assertEqual(max(FUNCS, key=lambda f: got.get(f, 0)), widest[weight], weight)
            if weight in ("bytes", "faults", "live"):
                self.b.wait_for(FLAME_SETTLED)
                self.b.screenshot(os.path.join(SHOTS, "html-flame-%s.png" % weight), "#flame")
        self.b.eval("memstudyPage.setWeight('bytes')")

    def test_hover_zoom_search(self):
        b = self.b
        b.eval("memstudyPage.setWeight('faults')")
        x, y = b.eval("(() => { const r = document.querySelector(\"#flame-graph g.frame[name=big_touched] rect\")"
                      ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        b.hover(x, y)
        b.wait_for("!document.getElementById('tip').hidden")
        tip = b.eval("document.getElementById('tip').textContent")
        self.assertIn("big_touched", tip)
        self.assertIn("page_sites.c:", tip)
        big, = self.sites_of("big_touched")
        self.assertIn("{:,}".format(big["page_faults"]), tip)
        b.hover(5, 5)
        # a click zooms into the frame: it takes the whole width
        b.click("#flame-graph g.frame[name=big_touched] rect")
        b.wait_for("+document.querySelector('#flame-graph g.frame[name=big_touched]').getAttribute('width')"
                   " === +document.querySelector('#flame-graph g.frame[name=all]').getAttribute('width')")
        b.eval("memstudyPage.flame.resetZoom()")
        b.type_text("#flame-search", "leak")
        b.wait_for("document.getElementById('flame-details').textContent.includes('match')")
        self.assertIn("1 frames match", b.eval("document.getElementById('flame-details').textContent"))
        b.eval("(() => { const s = document.getElementById('flame-search'); s.value = '';"
               " s.dispatchEvent(new Event('input')); })()")

    def test_timeline_is_the_reports(self):
        last = self.timeline[-1]
        got = self.b.eval("memstudyPage.plot.data.map(s => s[s.length - 1])")
        self.assertAlmostEqual(got[0], float(last["t_s"]), delta=1e-6)
        self.assertEqual(got[1], int(last["live_bytes"]))
        self.assertEqual(got[2], int(last["allocator_mapped_bytes"]))
        self.assertEqual(got[3], int(last["rss_bytes"]))
        self.assertEqual(self.b.eval("memstudyPage.plot.data[0].length"), len(self.timeline))
        # the program's 4 MiB frees are munmaps: one mark each (nothing else unmaps 64 KiB)
        unmaps = self.b.eval("memstudyPage.marks.filter(m => m.kind === 'unmap').length")
        self.assertEqual(unmaps, self.own["big_touched"]["calls"])
        self.b.screenshot(os.path.join(SHOTS, "html-timeline.png"), "#timeline")

    def test_slowest_calls(self):
        calls = [dict(c, fn=name) for name, f in self.report["functions"].items()
                 for c in f.get("slowest", [])]
        slowest = max(calls, key=lambda c: c["ns"])
        rows = self.b.eval("[...document.querySelectorAll('#slow tbody tr')]"
                           ".map(r => [...r.cells].map(c => c.textContent))")
        # the table starts with the slowest call, and says what happened inside it
        row = rows[0]
        self.assertEqual(row[0], slowest["fn"])
        self.assertEqual(row[2], "%.4f s" % (slowest["t_ns"] / 1e9))
        self.assertEqual(int(row[9]), slowest["tid"])
        for sc in slowest.get("syscalls", []):
            self.assertIn(sc["name"], row[8])
        self.assertIn(slowest["frames"][0], row[10])
        # the frees that unmapped the program's 4 MiB blocks, where they are among the
        # slowest, with their munmaps and their call site
        unmapping = [c for c in calls if any(y["name"] == "munmap" for y in c.get("syscalls", []))]
        shown = [r for r in rows if "munmap" in r[8]]
        self.assertEqual(len(shown), len(unmapping))
        for r in shown:
            self.assertEqual(r[0], "free")
            self.assertIn("big_touched", r[10])
        self.assertEqual(self.b.eval("memstudyPage.marks.filter(m => m.kind === 'slow').length"),
                         sum(len(f.get("slowest", [])) for f in self.report["functions"].values()))
        self.b.screenshot(os.path.join(SHOTS, "html-slow.png"), "#slow")

    def test_tables_sort(self):
        def first_site():
            return self.b.eval("document.querySelector('#sites tbody tr td').textContent")
        for column, fn in (("live bytes", "leak_resident"), ("allocations", "many_small"),
                           ("page faults", "big_touched")):
            self.b.click("#sites th:nth-child(%d)" % (self.b.eval(
                "[...document.querySelectorAll('#sites th')].findIndex(t => t.textContent === %s) + 1"
                % json.dumps(column))))
            self.assertTrue(first_site().startswith(fn), "%s: %s" % (column, first_site()))
        self.b.screenshot(os.path.join(SHOTS, "html-sites.png"), "#sites")

    def test_memory_map_at_the_end(self):
        # the program's 16 leaked 256 KiB blocks are mmapped chunks still mapped at the end,
        # each named by the live block it holds; its 4 MiB blocks were unmapped
        rows = self.b.eval("[...document.querySelectorAll('#maps > div tbody tr')]"
                           ".map(r => [...r.cells].map(c => c.textContent))")
        held = [r for r in rows if r[2] == "mapped by the allocator"]
        self.assertEqual(len([r for r in held if "leak_resident" in r[3]]),
                         self.own["leak_resident"]["calls"])
        self.assertFalse([r for r in rows if "big_touched" in r[3]])
        self.assertIn("brk heap", [r[2] for r in rows])

    def test_recording_cut_short(self):
        # half the file, as a killed memstudy record leaves it: the page says so, and draws
        # what the records read give
        cut, html = os.path.join(self.dir, "cut.rec"), os.path.join(self.dir, "cut.html")
        with open(self.rec, "rb") as f, open(cut, "wb") as g:
            data = f.read()
            g.write(data[:len(data) // 2])
        p = memstudy(["report", "--html", html, cut])
        self.assertEqual(p.returncode, 1, p.stderr)  # cut short: exit 1, the page written
        self.assertIn("cut short", p.stderr)
        b = Browser()
        try:
            b.open(html)
            b.wait_for("document.body.dataset.drawn === '1'")
            self.assertEqual(b.problems(), [])
            self.assertIn("cut short", b.eval("document.getElementById('incomplete').textContent"))
            self.assertGreater(b.eval("document.querySelectorAll('#flame-graph g.frame').length"), 1)
        finally:
            b.close()

    def test_views_screenshots(self):
        for view in ("overview", "functions", "maps"):
            path = os.path.join(SHOTS, "html-%s.png" % view)
            self.b.screenshot(path, "#" + view)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.b.screenshot(os.path.join(SHOTS, "html-page.png"))
        # the page's overview names the owner of the faulted pages and of the leaked bytes
        cards = self.b.eval("[...document.querySelectorAll('#overview .card')].map(c => c.textContent)")
        self.assertIn("big_touched", cards[0])
        self.assertIn("leak_resident", cards[1])


class MillionAllocations(unittest.TestCase):
    """A recording of a million allocations (and as many frees): its page opens and is
    drawn in under 3 s."""

    def test_opens_quickly(self):
        need_bpf(self)
        need_chromium(self)
        d = tempfile.mkdtemp(prefix="memstudy-html-big.")
        os.makedirs(SHOTS, exist_ok=True)
        try:
            rec, html = os.path.join(d, "big.rec"), os.path.join(d, "big.html")
            p = memstudy(["record", "-o", rec, "--", WORKLOAD, "churn", "--count", "1000000",
                          "--size", "64", "--json"])
            self.assertEqual(p.returncode, 0, p.stderr)
            own = json.loads(p.stdout)
            p = memstudy(["report", "--html", html, rec])
            self.assertEqual(p.returncode, 0, p.stderr)
            b = Browser()
            try:
                b.open(html)
                b.wait_for("document.body.dataset.drawn === '1'")
                self.assertEqual(b.problems(), [])
                drawn_ms = b.eval("memstudyPage.drawnMs")
                calls = b.eval("memstudyPage.data.report.functions.malloc.calls")
                b.screenshot(os.path.join(SHOTS, "html-million.png"), "#overview")
            finally:
                b.close()
            self.assertGreaterEqual(calls, own["calls"]["malloc"]["calls"])
            print("page of %d mallocs drawn %.0f ms after navigation" % (calls, drawn_ms))
            self.assertLess(drawn_ms, 3000)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
