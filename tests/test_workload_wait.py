"""The --wait contract with the tracer: 'ready PID' on stderr, blocked (state S,
no phase run, nothing on stdout) until SIGUSR1, a byte on stdin, or EOF."""
import json
import os
import select
import signal
import subprocess
import time
import unittest

import memtest

W = memtest.WORKLOAD
N = 20000  # 20000 x 1040 bytes = ~20 MiB once the phases run


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def rss_kb(pid):
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


class Wait(unittest.TestCase):
    def start(self):
        p = subprocess.Popen([W, "churn", "--count", str(N), "--json", "--wait"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        line = p.stderr.readline().decode()
        self.assertEqual(line, "ready %d\n" % p.pid)
        return p

    def assert_blocked(self, p):
        time.sleep(0.3)
        self.assertIsNone(p.poll())
        self.assertEqual(proc_state(p.pid), "S")
        # no phase has run: the 20 MiB are not there, and stdout is silent
        self.assertLess(rss_kb(p.pid), 8 * 1024)
        ready, _, _ = select.select([p.stdout], [], [], 0)
        self.assertEqual(ready, [])

    def finish(self, p):
        # the report is small enough for the pipe, so waiting first cannot deadlock,
        # and stdin stays open: only the signal, byte or EOF of the test let it go
        p.wait(timeout=60)
        out, err = p.stdout.read(), p.stderr.read()
        for f in (p.stdin, p.stdout, p.stderr):
            if not f.closed:
                f.close()
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(err, b"")
        r = json.loads(out)
        self.assertEqual(r["pid"], p.pid)
        self.assertEqual([ph["name"] for ph in r["phases"]], ["alloc", "touch", "free"])
        self.assertEqual(r["calls"]["malloc"]["calls"], N)
        # the memory really came after the go
        self.assertGreater(r["phases"][1]["rss_kb_after"], N * 1040 // 1024)
        return r

    def test_sigusr1_releases(self):
        p = self.start()
        self.assert_blocked(p)
        os.kill(p.pid, signal.SIGUSR1)
        self.finish(p)

    def test_a_byte_on_stdin_releases(self):
        p = self.start()
        self.assert_blocked(p)
        p.stdin.write(b"g")
        p.stdin.flush()
        self.finish(p)

    def test_eof_on_stdin_releases(self):
        p = self.start()
        self.assert_blocked(p)
        p.stdin.close()
        self.finish(p)

    def test_second_sigusr1_after_go_is_harmless(self):
        p = self.start()
        os.kill(p.pid, signal.SIGUSR1)
        os.kill(p.pid, signal.SIGUSR1)
        self.finish(p)

    def test_closed_stdin_does_not_block(self):
        p = memtest.run([W, "churn", "--count", "10", "--wait"], stdin=subprocess.DEVNULL,
                        timeout=20)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stderr, r"^ready \d+\n$")
        self.assertIn("workload churn", p.stdout)


if __name__ == "__main__":
    memtest.main()
