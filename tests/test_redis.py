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
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from memtest import MEMSTUDY, need_bpf, main

REDIS, CLI, BENCH = "/usr/bin/redis-server", "/usr/bin/redis-cli", "/usr/bin/redis-benchmark"
BPFTRACE = shutil.which("bpftrace") or "/usr/bin/bpftrace"
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
# memstudy's function: jemalloc's symbols counted in it (its own API: ms_variants)
FAMILY = {"malloc": ["malloc", "mallocx"], "calloc": ["calloc"],
          "realloc": ["realloc", "rallocx", "xallocx"],
          "free": ["free", "sdallocx", "dallocx"], "posix_memalign": ["posix_memalign"],
          "aligned_alloc": ["aligned_alloc"]}
SETS = 20000


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        self.port = free_tcp_port()

    def oracle(self):
        syms = [s for group in FAMILY.values() for s in group]
        enter = ",".join("uprobe:%s:%s" % (self.lib, s) for s in syms)
        leave = ",".join("uretprobe:%s:%s" % (self.lib, s) for s in syms)
        prog = ('BEGIN { printf("ready\\n"); }\n'
                '%s { if (@depth[tid] == 0) { @calls[probe] = count(); } @depth[tid]++; }\n'
                '%s { @depth[tid]--; }\n' % (enter, leave))
        bt = subprocess.Popen([BPFTRACE, "-f", "json", "-e", prog], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: bt.poll() is None and bt.kill())
        for line in bt.stdout:
            if '"ready' in line:
                return bt
        self.fail("bpftrace did not start: " + bt.stderr.read())

    @staticmethod
    def counts(bt):
        bt.send_signal(signal.SIGINT)
        out, _ = bt.communicate(timeout=60)
        for line in out.splitlines():
            if line.startswith("{"):
                j = json.loads(line)
                if j.get("type") == "map" and "@calls" in j["data"]:
                    return {k.rsplit(":", 1)[1]: v for k, v in j["data"]["@calls"].items()}
        return {}

    def cli(self, *args):
        return subprocess.run([CLI, "-p", str(self.port)] + list(args), capture_output=True,
                              text=True, timeout=60)

    def test_jemalloc_counts_agree_with_bpftrace(self):
        bt = self.oracle()
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
        truth = self.counts(bt)
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
