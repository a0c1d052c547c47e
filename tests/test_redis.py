"""jemalloc in a real server (issue 16): Debian's redis-server, linked with Debian's
libjemalloc2, on a free loopback port with persistence off, driven by redis-benchmark for a
fixed number of SETs, then made to BGSAVE (a forked child writes the snapshot: followed,
issue 17), then shut down.

The oracle: bpftrace counting the outermost calls of jemalloc's functions on a private copy
of libjemalloc.so.2 that redis loads through LD_LIBRARY_PATH (bpftrace does not filter
uprobes by pid; a copy only this redis maps keeps them to it). memstudy probes the same
copy, since it is the file redis's malloc is in."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from memtest import (BPFTRACE, MEMSTUDY, bpftrace_counts, bpftrace_outermost, free_port,
                     main, need_bpf)

REDIS, CLI, BENCH = "/usr/bin/redis-server", "/usr/bin/redis-cli", "/usr/bin/redis-benchmark"
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
# memstudy's function: jemalloc's symbols counted in it (its own API: ms_variants)
FAMILY = {"malloc": ["malloc", "mallocx"], "calloc": ["calloc"],
          "realloc": ["realloc", "rallocx", "xallocx"],
          "free": ["free", "sdallocx", "dallocx"], "posix_memalign": ["posix_memalign"],
          "aligned_alloc": ["aligned_alloc"]}
SETS = 20000


class Redis(unittest.TestCase):
    def setUp(self):
        need_bpf(self)
        for exe in (REDIS, CLI, BENCH, BPFTRACE, JEMALLOC):
            if not os.path.exists(exe):
                self.fail("%s is missing: build.sh installs redis-server, redis-tools, "
                          "bpftrace and libjemalloc2" % exe)
        self.dir = tempfile.mkdtemp(prefix="memstudy-redis-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.lib = os.path.join(self.dir, "libjemalloc.so.2")
        shutil.copy(JEMALLOC, self.lib)
        self.port = free_port()

    def cli(self, *args):
        return subprocess.run([CLI, "-p", str(self.port)] + list(args), capture_output=True,
                              text=True, timeout=60)

    def test_jemalloc_counts_agree_with_bpftrace(self):
        bt = bpftrace_outermost(self, self.lib, [s for g in FAMILY.values() for s in g])
        js = os.path.join(self.dir, "report.json")
        env = dict(os.environ, LD_LIBRARY_PATH=self.dir)
        m = subprocess.Popen([MEMSTUDY, "run", "--follow", "--json", js, "-o", "/dev/null", "--",
                              REDIS, "--port", str(self.port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", self.dir],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        self.addCleanup(lambda: m.poll() is None and m.kill())
        deadline = time.monotonic() + 60
        while self.cli("ping").stdout.strip() != "PONG":  # up, and traced
            if m.poll() is not None or time.monotonic() > deadline:
                self.fail("redis did not answer: " + m.stderr.read())
            time.sleep(0.05)
        b = subprocess.run([BENCH, "-p", str(self.port), "-n", str(SETS), "-t", "set",
                            "-c", "4", "-r", "100000", "-q"], capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertEqual(self.cli("dbsize").returncode, 0)
        keys = int(self.cli("dbsize").stdout)
        self.assertGreater(keys, 0)
        # a snapshot by a forked child: until redis says it is written
        self.assertIn("Background saving started", self.cli("bgsave").stdout)
        while True:
            info = self.cli("info", "persistence").stdout
            if "rdb_bgsave_in_progress:0" in info:
                break
            if m.poll() is not None or time.monotonic() > deadline + 120:
                self.fail("BGSAVE did not finish: " + info)
            time.sleep(0.05)
        self.assertIn("rdb_last_bgsave_status:ok", info)
        # untraced memstudy maps: its anonymous memory is jemalloc's, and says no more
        pid = int(self.cli("info", "server").stdout.split("process_id:")[1].split()[0])
        mp = subprocess.run([MEMSTUDY, "maps", str(pid), "--json", "-"], capture_output=True,
                            text=True, timeout=60)
        self.assertEqual(mp.returncode, 0, mp.stderr)
        labels = [m for m in json.loads(mp.stdout)["mappings"] if m["label"] == "allocator"]
        self.assertTrue(labels)
        self.assertIn("malloc is jemalloc's", labels[0]["evidence"])
        self.assertGreater(sum(m["rss_kb"] for m in labels), 0)
        self.cli("shutdown", "nosave")
        _, err = m.communicate(timeout=120)
        self.assertEqual(m.returncode, 0, err)
        truth = bpftrace_counts(bt)
        with open(js) as f:
            rep = json.load(f)
        self.assertEqual(rep["lost_events"], 0)
        self.assertEqual(rep["target"]["allocator"], self.lib)
        self.assertIn("jemalloc", [a["name"] for a in rep["allocators"]])
        print("redis: %d SETs, %d keys; memstudy %s; bpftrace %s" % (
            SETS, keys, {f: rep["functions"][f]["calls"] for f in FAMILY}, truth),
            file=sys.stderr)
        for fn, syms in FAMILY.items():
            self.assertEqual(rep["functions"][fn]["calls"], sum(truth.get(s, 0) for s in syms),
                             fn)
        procs = rep["processes"]
        self.assertEqual(len(procs), 2, procs)  # redis and its BGSAVE child
        self.assertEqual(procs[1]["ppid"], procs[0]["pid"])
        self.assertEqual(procs[1]["exit"], 0)
        self.assertGreater(sum(f["calls"] for f in procs[1]["functions"].values()), 0)
        # every SET allocates: the key and its value at least
        self.assertGreater(rep["functions"]["malloc"]["calls"], SETS)
        self.assertEqual(rep["overhead"]["single_stepped"], [])


if __name__ == "__main__":
    main()
