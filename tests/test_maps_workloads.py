"""memstudy maps against the built-in workloads, paused between phases with --pause-after,
and against the tracer's own record of which call mapped what."""
import json
import os
import signal
import subprocess
import tempfile
import unittest

from memtest import MEMSTUDY, WORKLOAD, memstudy, need_bpf, main


class Paused:
    """A workload (or memstudy run of one) stopped after a phase; .go() lets it continue."""

    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)

    def wait_for(self, word):
        while True:
            line = self.p.stderr.readline()
            if not line:
                raise AssertionError("workload ended before '%s'" % word)
            if line.startswith(word):
                return int(line.split()[-1])

    def go(self):
        self.p.stdin.write("g")
        self.p.stdin.flush()

    def finish(self):
        out, err = self.p.communicate(timeout=120)
        return self.p.returncode, out, err


def snapshot(pid):
    p = memstudy(["maps", str(pid), "--json"])
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def labelled(snap, label):
    return [m for m in snap["mappings"] if m["label"] == label]


class MapsOnWorkloads(unittest.TestCase):
    def test_threads_make_one_arena_heap_each(self):
        for t in (2, 4):
            w = Paused([WORKLOAD, "threads", "--threads", str(t), "--count", "2000",
                        "--pause-after", "alloc"])
            pid = w.wait_for("paused")
            snap = snapshot(pid)
            w.go()
            self.assertEqual(w.finish()[0], 0)
            self.assertEqual(len(labelled(snap, "arena-heap")), t, t)
            self.assertEqual(len(labelled(snap, "arena-reserve")), t)
            self.assertEqual(len(labelled(snap, "main-heap")), 1)

    def test_array_mapping_gone_after_free(self):
        w = Paused([WORKLOAD, "array", "--count", "2000", "--pause-after", "alloc",
                    "--pause-after", "free"])
        with tempfile.TemporaryDirectory() as d:
            pid = w.wait_for("paused alloc")
            before = os.path.join(d, "before.json")
            self.assertEqual(memstudy(["maps", str(pid), "--save", before]).returncode, 0)
            with open(before) as fh:
                chunks = labelled(json.load(fh), "mmap-chunk")
            w.go()
            w.wait_for("paused free")
            diff = memstudy(["maps", "--diff", before, str(pid), "--json"])
            after = snapshot(pid)
            w.go()
            self.assertEqual(w.finish()[0], 0)
        size = 2000 * 1040
        big = [m for m in chunks if m["kbytes"] * 1024 >= size]
        self.assertEqual(len(big), 1, chunks)
        self.assertNotIn(big[0]["start"], [m["start"] for m in after["mappings"]])
        self.assertEqual(diff.returncode, 0, diff.stderr)
        gone = [m for m in json.loads(diff.stdout)["mappings"] if m.get("change") == "gone"]
        self.assertIn(big[0]["start"], json.dumps(gone))

    def test_churn_fwd_heap_keeps_top_pad(self):
        w = Paused([WORKLOAD, "churn", "--count", "5000", "--order", "fwd", "--pause-after",
                    "free"])
        pid = w.wait_for("paused free")
        snap = snapshot(pid)
        w.go()
        self.assertEqual(w.finish()[0], 0)
        heap = labelled(snap, "main-heap")
        self.assertEqual(len(heap), 1)
        # freed down to the trim threshold: the heap stays mapped with glibc's 128 KiB pad
        self.assertGreaterEqual(heap[0]["kbytes"], 128)
        self.assertLess(heap[0]["kbytes"], 5000 * 1040 // 1024)
        self.assertGreater(heap[0]["rss_kb"], 0)

    def test_labels_agree_with_tracer(self):
        need_bpf(self)
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            w = Paused([MEMSTUDY, "run", "--json", f.name, "-o", "/dev/null", "--", WORKLOAD,
                        "array", "--count", "3000", "--pause-after", "alloc"])
            pid = w.wait_for("paused alloc")
            snap = snapshot(pid)
            w.go()
            self.assertEqual(w.finish()[0], 0)
            rep = json.load(f)
        alloc = [ph for ph in rep["phases"] if ph["name"] == "alloc"][0]
        # the tracer saw exactly one mmap, made inside malloc, in the alloc phase ...
        self.assertEqual(alloc["functions"]["malloc"]["kernel"]["syscalls"]["mmap"], 1)
        self.assertEqual(alloc["syscalls"]["mmap"]["calls"], 1)
        # ... and maps labels one mapping holding that length an mmapped malloc chunk (the
        # kernel may have merged it with an adjacent anonymous mapping: a few pages more)
        length = alloc["syscalls"]["mmap"]["bytes"]
        chunks = [m for m in labelled(snap, "mmap-chunk")
                  if 0 <= m["kbytes"] * 1024 - length < 256 * 1024]
        self.assertEqual(len(chunks), 1, (labelled(snap, "mmap-chunk"),
                                          alloc["syscalls"]["mmap"]["bytes"]))

    def test_per_allocation_names_the_call_site_of_each_chunk(self):
        need_bpf(self)
        w = Paused([WORKLOAD, "array", "--count", "3000", "--wait", "--pause-after", "touch"])
        pid = w.wait_for("ready")
        m = subprocess.Popen([MEMSTUDY, "--pid", str(pid), "--per-allocation", "--maps",
                              "--no-histograms"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.assertIn("tracing PID", m.stderr.readline())
        w.go()
        w.wait_for("paused touch")
        m.send_signal(signal.SIGINT)
        out, err = m.communicate(timeout=60)
        w.go()
        self.assertEqual(w.finish()[0], 0)
        self.assertEqual(m.returncode, 0, err)
        table = out[out.index("Memory map at the end"):]
        chunk = [l for l in table.splitlines() if " mmap-chunk " in l]
        self.assertEqual(len(chunk), 1, table)
        # the chunk is named by the allocation it holds: malloc of 3000 x 1040 bytes in
        # the workload's wl_array()
        self.assertIn("malloc 3120000 B: wl_array", chunk[0])

    def test_maps_option_needs_per_allocation(self):
        p = memstudy(["--pid", "1", "--maps"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("needs --per-allocation", p.stderr)


if __name__ == "__main__":
    main()
