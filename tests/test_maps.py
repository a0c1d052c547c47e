"""memstudy maps: labels, heap analysis, JSON, snapshots and diffs, errors, unprivileged use.

Each target prints "ready ..." once it holds its memory and then blocks reading stdin, so
the test can look at it; writing one byte lets it go on (or exit)."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import memtest
from memtest import MEMSTUDY, memstudy, target

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


class Target:
    """A running target program; waits for its 'ready' line."""

    def __init__(self, name, *args, prefix=()):
        self.p = subprocess.Popen(list(prefix) + [target(name)] + [str(a) for a in args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.line = self.p.stdout.readline().strip()
        if not self.line.startswith("ready"):
            self.close()
            raise AssertionError("target %s did not get ready: %r" % (name, self.line))
        self.pid = self.p.pid

    def step(self):
        """Let the target go one phase further; returns its next line."""
        self.p.stdin.write("x")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        for f in (self.p.stdin, self.p.stdout):
            try:
                f.close()
            except OSError:
                pass


def maps_json(testcase, pid, *extra, prefix=()):
    p = memtest.run(list(prefix) + [MEMSTUDY, "maps", "--json", "-", str(pid)] + list(extra))
    if p.returncode != 0:
        testcase.fail("memstudy maps failed (%d): %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)


def by_label(report, label):
    return [m for m in report["mappings"] if m["label"] == label]


def hexint(s):
    return int(s, 16)


class MapsTest(unittest.TestCase):
    def setUp(self):
        self.targets = []
        self.tmp = tempfile.mkdtemp(prefix="test_maps.")

    def tearDown(self):
        for t in self.targets:
            t.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, name, *args, **kw):
        t = Target(name, *args, **kw)
        self.targets.append(t)
        return t

    # --- labels ---

    def test_threads_get_arena_heaps_and_stacks(self):
        n = 3
        t = self.start("maps_threads", n)
        # "ready" comes before every worker is parked in the second barrier: a running
        # thread shows no stack pointer. Wait for the state the labels need.
        memtest.wait_threads_blocked(t.pid, exclude=(t.pid,))
        r = maps_json(self, t.pid)
        self.assertEqual(r["pid"], t.pid)
        arenas = by_label(r, "arena-heap")
        reserves = by_label(r, "arena-reserve")
        self.assertEqual(len(arenas), n, [m["start"] for m in arenas])
        self.assertEqual(len(reserves), n)
        for a in arenas:
            start, end = hexint(a["start"]), hexint(a["end"])
            self.assertEqual(start % (64 << 20), 0, "arena heaps are 64 MiB aligned")
            self.assertEqual(a["mode"], "rw---")
            # each is followed by its PROT_NONE rest up to the 64 MiB boundary
            rest = [m for m in reserves if hexint(m["start"]) == end]
            self.assertEqual(len(rest), 1)
            self.assertEqual(hexint(rest[0]["end"]), start + (64 << 20))
            self.assertEqual(rest[0]["mode"], "-----")
            self.assertGreaterEqual(a["rss_kb"], 64, "each thread touched 64 KiB")
        stacks = by_label(r, "thread-stack")
        self.assertEqual(len(stacks), n)
        tids = {int(x) for x in os.listdir("/proc/%d/task" % t.pid)} - {t.pid}
        self.assertEqual({m.get("tid") for m in stacks}, tids, "stacks matched by sp")
        for s in stacks:
            self.assertIn("sp of tid", s["evidence"])
            below = [m for m in r["mappings"] if m["end"] == s["start"]]
            self.assertEqual([m["label"] for m in below], ["guard"])
        self.assertEqual(len(by_label(r, "main-heap")), 1)
        self.assertEqual(len(by_label(r, "stack")), 1)
        self.assertEqual(by_label(r, "stack")[0]["mapping"], "[ stack ]")
        self.assertEqual(r["totals"]["arena-heap"]["count"], n)
        self.assertEqual(r["totals"]["thread-stack"]["count"], n)
        heaps = [h for h in r["heaps"] if h["label"] == "arena-heap"]
        self.assertEqual(len(heaps), n)
        for h in heaps:
            self.assertTrue(h["walk"]["complete"], h["walk"])
            self.assertGreaterEqual(h["walk"]["inuse_bytes"], 64 * 1024)
            self.assertIsNotNone(h["top"])
            self.assertEqual(hexint(h["reserve_end"]) - hexint(h["start"]), 64 << 20)
        self.assertTrue(any("arena heap" in n for n in r["notes"]))

    def test_text_table(self):
        t = self.start("maps_threads", 2)
        p = memstudy(["maps", str(t.pid)])
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertTrue(lines[0].startswith("%d:" % t.pid))
        self.assertEqual(lines[1].split(),
                         ["Address", "Kbytes", "RSS", "Dirty", "Swap", "Mode", "Label", "Mapping"])
        self.assertTrue(any(l.startswith("total kB") for l in lines))
        self.assertIn("By label", p.stdout)
        self.assertIn("Heaps: why memory stays", p.stdout)
        self.assertEqual(sum(" arena-heap " in l for l in lines if l[:1] in "0123456789abcdef"), 2)
        # the table's Kbytes agree with the kernel's smaps
        smaps_kb = 0
        with open("/proc/%d/smaps" % t.pid) as f:
            for line in f:
                if line.startswith("Size:"):
                    smaps_kb += int(line.split()[1])
        total = [l for l in lines if l.startswith("total kB")][0].split()
        self.assertEqual(int(total[2]), smaps_kb)

    def test_big_malloc_is_mmap_chunk_and_goes_away(self):
        t = self.start("maps_bigfree")
        addr = int(t.line.split()[1], 16)
        a_file = os.path.join(self.tmp, "a.json")
        p = memstudy(["maps", str(t.pid), "--save", a_file])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(a_file) as f:
            a = json.load(f)
        chunk = [m for m in a["mappings"] if hexint(m["start"]) <= addr < hexint(m["end"])]
        self.assertEqual(len(chunk), 1)
        self.assertEqual(chunk[0]["label"], "mmap-chunk", chunk[0])
        self.assertEqual(hexint(chunk[0]["start"]), addr - 16, "header 16 bytes before")
        self.assertGreaterEqual(chunk[0]["rss_kb"], 4096)
        self.assertEqual(t.step(), "freed")
        b = maps_json(self, t.pid)
        self.assertFalse([m for m in b["mappings"] if m["start"] == chunk[0]["start"]
                          and m["label"] == "mmap-chunk"])

        # --diff A.json PID (text) and A.json B.json (JSON)
        p = memstudy(["maps", "--diff", a_file, str(t.pid)])
        self.assertEqual(p.returncode, 0, p.stderr)
        gone = [l for l in p.stdout.splitlines() if l.startswith(chunk[0]["start"][2:].rjust(16, "0"))]
        self.assertEqual(len(gone), 1, p.stdout)
        self.assertIn("gone", gone[0])
        self.assertIn("mmap-chunk", gone[0])
        b_file = os.path.join(self.tmp, "b.json")
        with open(b_file, "w") as f:
            json.dump(b, f)
        p = memstudy(["maps", "--diff", a_file, b_file, "--json", "-"])
        self.assertEqual(p.returncode, 0, p.stderr)
        d = json.loads(p.stdout)
        ch = [m for m in d["mappings"] if m["start"] == chunk[0]["start"]]
        self.assertEqual(ch[0]["change"], "gone")
        self.assertEqual(ch[0]["kbytes_delta"], -chunk[0]["kbytes"])
        self.assertEqual(d["totals"]["mmap-chunk"]["count_delta"], -1)
        self.assertLessEqual(d["totals"]["mmap-chunk"]["rss_kb_delta"], -4096)

    def test_small_frees_keep_heap_top_pad(self):
        t = self.start("maps_smallfree", 2000)
        r = maps_json(self, t.pid)
        heap = by_label(r, "main-heap")
        self.assertEqual(len(heap), 1)
        self.assertGreaterEqual(heap[0]["kbytes"], 128, "top pad stays mapped")
        self.assertGreater(heap[0]["rss_kb"], 0, "and partly resident")
        h = [h for h in r["heaps"] if h["label"] == "main-heap"][0]
        self.assertEqual(h["start"], heap[0]["start"])
        self.assertTrue(h["walk"]["complete"], h["walk"])
        # everything was freed: the top chunk holds almost all of the heap
        self.assertGreaterEqual(h["top_size"], 128 * 1024)
        self.assertEqual(hexint(h["top"]) + h["top_size"], hexint(h["end"]))
        self.assertLess(h["walk"]["inuse_bytes"], 16 * 1024)
        self.assertEqual(h["trim_threshold"], 128 * 1024)
        self.assertIn("M_TRIM_THRESHOLD", h["why"])
        self.assertIn("measured", h["why"])
        self.assertIsNotNone(h["top_resident_pages"])
        # main_arena located without debug symbols, and it agrees with the walk
        self.assertIsNotNone(h["arena"])
        self.assertIn("agrees with main_arena.top", h["top_source"])

    def test_no_mem_still_labels_layout(self):
        t = self.start("maps_threads", 2)
        r = maps_json(self, t.pid, "--no-mem")
        self.assertFalse(r["memory_read"])
        self.assertEqual(len(by_label(r, "arena-heap")), 2)
        self.assertEqual(len(by_label(r, "thread-stack")), 2)
        h = [h for h in r["heaps"] if h["label"] == "main-heap"][0]
        self.assertFalse(h["walk"]["complete"])
        self.assertIn("estimated", h["why"])

    # --- JSON ---

    def test_json_keys(self):
        t = self.start("maps_threads", 1)
        r = maps_json(self, t.pid)
        for k in ("pid", "mappings", "totals", "total", "heaps", "threads", "notes",
                  "memory_read"):
            self.assertIn(k, r)
        self.assertTrue(r["memory_read"])
        for m in r["mappings"]:
            for k in ("start", "end", "kbytes", "rss_kb", "dirty_kb", "swap_kb", "mode",
                      "mapping", "label", "annotation"):
                self.assertIn(k, m)
            self.assertTrue(m["start"].startswith("0x") and m["end"].startswith("0x"))
            self.assertLess(hexint(m["start"]), hexint(m["end"]))
            self.assertEqual(len(m["mode"]), 5)
            self.assertIsNone(m["annotation"], "tracer hook stays empty untraced")
        self.assertTrue(any(m["mapping"] == "[ anon ]" for m in r["mappings"]))
        self.assertTrue(any(m["label"] == "file" and m["mapping"].startswith("target-maps")
                            for m in r["mappings"]))
        labels = {m["label"] for m in r["mappings"]}
        self.assertEqual(set(r["totals"]), labels)
        self.assertEqual(sum(v["kbytes"] for v in r["totals"].values()), r["total"]["kbytes"])
        for h in r["heaps"]:
            for k in ("label", "start", "end", "kbytes", "rss_kb", "dirty_kb", "walk", "top",
                      "top_size", "top_source", "why", "trim_threshold", "top_pad"):
                self.assertIn(k, h)
        # --json FILE writes the same document, and only that (issue 12: it printed the
        # table too); --save is the option that does both
        out = os.path.join(self.tmp, "snap.json")
        p = memstudy(["maps", str(t.pid), "--json", out])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("total kB", p.stdout)
        with open(out) as f:
            self.assertEqual(json.load(f)["pid"], t.pid)

    # --- errors and help ---

    def test_help(self):
        p = memstudy(["maps", "--help"])
        self.assertEqual(p.returncode, 0)
        for word in ("examples", "--diff", "--save", "--json", "arena-heap", "mmap-chunk"):
            self.assertIn(word, p.stdout)

    def test_errors(self):
        p = memstudy(["maps", "99999999"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("no process with PID 99999999", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        for args in (["maps"], ["maps", "--bogus", "1"], ["maps", "abc"], ["maps", "1", "2"],
                     ["maps", "--diff", "a.json"], ["maps", "--save"]):
            p = memstudy(args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("memstudy maps --help", p.stderr)
        p = memstudy(["maps", "--diff", os.path.join(self.tmp, "none.json"), "1"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read snapshot", p.stderr)
        bad = os.path.join(self.tmp, "bad.json")
        with open(bad, "w") as f:
            f.write('{"pid": 1}')
        p = memstudy(["maps", "--diff", bad, bad])
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a memstudy maps snapshot", p.stderr)

    # --- unprivileged ---

    def need_root(self):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root and setpriv to switch to an unprivileged user")

    def test_unprivileged_own_process(self):
        self.need_root()
        os.chmod(self.tmp, 0o755)
        t = self.start("maps_threads", 2, prefix=NOBODY)
        self.assertEqual(os.stat("/proc/%d" % t.pid).st_uid, 65534)
        r = maps_json(self, t.pid, prefix=NOBODY)
        self.assertTrue(r["memory_read"], r.get("memory_error"))
        self.assertEqual(len(by_label(r, "arena-heap")), 2)
        self.assertEqual(len(by_label(r, "thread-stack")), 2)
        h = [h for h in r["heaps"] if h["label"] == "main-heap"][0]
        self.assertTrue(h["walk"]["complete"])

    def test_unprivileged_other_process_denied(self):
        self.need_root()
        t = self.start("maps_threads", 1)  # runs as root
        p = memtest.run(NOBODY + [MEMSTUDY, "maps", str(t.pid)])
        self.assertEqual(p.returncode, 1)
        self.assertIn("permission denied", p.stderr)
        self.assertIn("root", p.stderr)
        self.assertIn("owns the process", p.stderr)


class Mallinfo2(unittest.TestCase):
    """mallinfo2's fields, reckoned from outside (heap walks, each arena's malloc_state and
    fastbins, the mmapped chunks), against the target's own mallinfo2() at the same moment:
    two arenas, free chunks in the bins, chunks in a fastbin, mmapped chunks."""

    def test_fields_are_the_targets_own(self):
        p = subprocess.Popen([target("mallinfo")], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        try:
            own = json.loads(p.stdout.readline())  # printed, then it waits: nothing moves
            r = memstudy(["maps", str(p.pid), "--json", "-"])
            self.assertEqual(r.returncode, 0, r.stderr)
            mi = json.loads(r.stdout)["mallinfo2"]
            self.assertTrue(mi["known"], mi)
            for k in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                      "uordblks", "fordblks", "keepcost"):
                self.assertEqual(mi[k], own[k], k)
            self.assertEqual(mi["arenas"], 2)
            self.assertGreater(own["smblks"], 0)  # the fastbins were in it
            self.assertEqual(own["hblks"], 2)
            t = memstudy(["maps", str(p.pid)])
            self.assertIn("mallinfo2, reckoned from outside (2 arenas): arena %d, ordblks %d"
                          % (own["arena"], own["ordblks"]), t.stdout)
        finally:
            p.stdin.write("x")
            p.stdin.close()
            p.wait(timeout=30)
            p.stdout.close()


if __name__ == "__main__":
    memtest.main()
