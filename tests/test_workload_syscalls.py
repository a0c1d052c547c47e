"""brk, mmap, alloca, vla and threads: the syscalls the workloads say they made,
counted by strace against a baseline run, and the faults they cause, counted
by the kernel."""
import json
import os
import re
import subprocess
import unittest

import memtest

W = memtest.WORKLOAD
PAGE = os.sysconf("SC_PAGE_SIZE")
SYSCALLS = ["mmap", "munmap", "madvise", "mprotect", "brk", "mremap"]


def traced(*args):
    counts, out = memtest.strace_count([W] + list(args) + ["--json"], SYSCALLS)
    if out.returncode != 0:
        raise AssertionError("%s failed: %s" % (args, out.stderr[-2000:]))
    return counts, json.loads(out.stdout), out.stderr


def run_wait4(*args):
    p = subprocess.Popen([W] + list(args) + ["--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = p.stdout.read(), p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stdout.close()
    p.stderr.close()
    assert os.waitstatus_to_exitcode(status) == 0, err
    return json.loads(out), ru


def phase(r, name):
    return next(p for p in r["phases"] if p["name"] == name)


class RawSyscalls(unittest.TestCase):
    def test_brk_counts_match_strace(self):
        base, rb, _ = traced("brk", "--count", "0")
        self.assertEqual(rb["syscalls"]["brk"], 0)
        for k in (5, 40):
            seen, r, _ = traced("brk", "--count", str(k), "--size", "64K")
            self.assertEqual(r["syscalls"], {"mmap": 0, "munmap": 0, "madvise": 0,
                                             "mprotect": 0, "brk": 2 * k, "mremap": 0})
            # exactly the workload's own brk calls more than the baseline
            self.assertEqual(seen["brk"] - base["brk"], 2 * k)
            self.assertGreaterEqual(seen["brk"], r["syscalls"]["brk"])

    def test_brk_pages_come_on_touch_and_go_on_the_way_down(self):
        k, s = 32, 64 * 1024
        r, ru = run_wait4("brk", "--count", str(k), "--size", "64K")
        up, touch, down = phase(r, "up"), phase(r, "touch"), phase(r, "down")
        self.assertEqual(int(up["brk_after"], 16) - int(up["brk_before"], 16), k * s)
        self.assertLessEqual(up["minflt"], 2)
        self.assertEqual(touch["minflt"], k * s // PAGE)
        self.assertEqual(down["brk_after"], up["brk_before"])
        self.assertGreaterEqual(down["rss_kb_before"] - down["rss_kb_after"], 0.8 * k * s / 1024)
        self.assertGreaterEqual(ru.ru_minflt, k * s // PAGE)
        self.assertGreaterEqual(ru.ru_maxrss, k * s // 1024)

    def test_mmap_counts_match_strace(self):
        base, r0, _ = traced("mmap", "--count", "0", "--size", "64K")
        self.assertEqual(r0["syscalls"], {"mmap": 1, "munmap": 1, "madvise": 1, "mprotect": 0,
                                          "brk": 0, "mremap": 0})
        for k in (3, 10):
            seen, r, _ = traced("mmap", "--count", str(k), "--size", "64K")
            want = {"mmap": k + 1, "munmap": k + 1, "madvise": 2 * k + 1, "mprotect": 2 * k,
                    "brk": 0, "mremap": 1}
            self.assertEqual(r["syscalls"], want)
            for name in SYSCALLS:
                self.assertEqual(seen[name] - base[name],
                                 want[name] - r0["syscalls"][name], name)

    def test_mmap_faults_and_advice(self):
        k, s = 8, 256 * 1024
        seen, r, log = traced("mmap", "--count", str(k), "--size", "256K")
        pages = k * s // PAGE
        self.assertEqual(phase(r, "map")["minflt"] <= 2, True)
        self.assertEqual(phase(r, "touch")["minflt"], pages)
        self.assertLessEqual(phase(r, "protect")["minflt"], 1)
        dn = phase(r, "dontneed")
        self.assertGreaterEqual(dn["rss_kb_before"] - dn["rss_kb_after"], 0.8 * k * s / 1024)
        self.assertEqual(r["results"]["resident_pages_after_dontneed"], 0)
        self.assertEqual(phase(r, "retouch")["minflt"], pages)
        self.assertEqual(r["results"]["dirty_pages_after_dontneed"], 0)
        # MADV_FREE leaves the pages in place while memory is plentiful
        self.assertEqual(r["results"]["resident_pages_after_free"], pages)
        self.assertLessEqual(phase(r, "touch_after_free")["minflt"], 1)
        hp = phase(r, "hugepage")["minflt"]
        self.assertGreaterEqual(hp, 1)
        self.assertLessEqual(hp, (4 << 20) // PAGE)
        # strace saw each advice the workload gave
        self.assertEqual(log.count("MADV_DONTNEED"), k)
        self.assertEqual(log.count("MADV_FREE"), k)
        self.assertEqual(log.count("MADV_HUGEPAGE"), 1)
        self.assertEqual(len(re.findall(r"mprotect\(0x[0-9a-f]+, %d, PROT_READ\)" % s, log)), k)
        self.assertEqual(len(re.findall(r"mprotect\(0x[0-9a-f]+, %d, PROT_READ\|PROT_WRITE\)"
                                        % s, log)), k)


class StackAndThreads(unittest.TestCase):
    def test_alloca_piles_up_vla_does_not(self):
        n, s = 1000, 4096
        a, ru = run_wait4("alloca", "--count", str(n), "--size", str(s))
        v, _ = run_wait4("vla", "--count", str(n), "--size", str(s))
        for r in (a, v):
            self.assertEqual(sum(c["calls"] for c in r["calls"].values()), 0)
        grow = phase(a, "grow")["minflt"]
        self.assertGreaterEqual(grow, n * s // PAGE * 0.95)
        self.assertLessEqual(grow, n * s // PAGE + 32)
        self.assertGreaterEqual(ru.ru_minflt, grow)
        self.assertLessEqual(phase(a, "again")["minflt"], 2)  # the stack keeps its pages
        self.assertLessEqual(phase(v, "grow")["minflt"], 4)
        # the stack itself grew: /proc/PID/maps is not there after exit, but RSS is
        self.assertGreaterEqual(phase(a, "grow")["rss_kb_after"] - phase(a, "grow")["rss_kb_before"],
                                0.8 * n * s / 1024)

    def test_threads_get_arenas_and_free_across(self):
        t, n, rounds = 3, 2000, 2
        seen, r, log = traced("threads", "--threads", str(t), "--count", str(n),
                              "--rounds", str(rounds))
        self.assertEqual(r["calls"]["malloc"], {"calls": t * n * rounds,
                                                "bytes": t * n * rounds * 1040})
        self.assertEqual(r["calls"]["free"]["calls"], t * n * rounds)
        self.assertEqual([p["name"] for p in r["phases"]],
                         ["alloc", "free_own", "free_cross"] * rounds)
        self.assertEqual(r["results"]["threads_in_other_arenas"], t)
        self.assertEqual(r["results"]["arena_heaps"], t)
        # each new arena reserves 64 MiB of address space, aligned: glibc maps 128 MiB
        # PROT_NONE and trims it (strace sees the reservation), then grows with mprotect
        reserve = len(re.findall(r"mmap\(NULL, 134217728, PROT_NONE", log))
        self.assertEqual(reserve, t)
        self.assertGreaterEqual(seen["mprotect"], t)


if __name__ == "__main__":
    memtest.main()
