"""The allocator workloads' own numbers against independent observers: the
kernel's rusage of the child (os.wait4), /proc, and strace."""
import json
import os
import re
import subprocess
import unittest

import memtest

W = memtest.WORKLOAD
PAGE = os.sysconf("SC_PAGE_SIZE")


def run_wait4(*args):
    """Run the workload with --json; return (report, the kernel's rusage of the child)."""
    p = subprocess.Popen([W] + list(args) + ["--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stdout.close()
    p.stderr.close()
    if p.returncode != 0:
        raise AssertionError("%s failed: %s" % (args, err.decode()))
    return json.loads(out), ru


def phase(r, name):
    return next(p for p in r["phases"] if p["name"] == name)


def strace_lines(args, syscalls):
    out = memtest.run(["strace", "-f", "-qq", "-e", "trace=" + ",".join(syscalls),
                       "-o", "/dev/stderr", W] + list(args) + ["--json"])
    assert out.returncode == 0, out.stderr
    return out.stderr.splitlines(), json.loads(out.stdout)


class Baseline:
    faults = None

    @classmethod
    def startup_faults(cls):
        """Faults of a run that does nothing: loading, libc setup, the report."""
        if cls.faults is None:
            _, ru = run_wait4("churn", "--count", "0")
            cls.faults = ru.ru_minflt
        return cls.faults


class ChurnAndArray(unittest.TestCase):
    def check_faults_vs_kernel(self, r, ru, scratch_bytes):
        mine = sum(p["minflt"] for p in r["phases"])
        self.assertLessEqual(mine, ru.ru_minflt)
        # outside the phases: startup and report (a baseline run's worth) and the
        # prefaulted scratch arrays (MAP_POPULATE counts one fault per page)
        scratch = -(-scratch_bytes // PAGE)
        self.assertLessEqual(ru.ru_minflt - mine, Baseline.startup_faults() + scratch + 64)
        self.assertEqual(sum(p["majflt"] for p in r["phases"]), 0)  # no swap, no file pages

    def test_churn_at_several_counts(self):
        for n in (1000, 10000, 100000):
            r, ru = run_wait4("churn", "--count", str(n))
            self.assertEqual(r["calls"]["malloc"], {"calls": n, "bytes": n * 1040})
            self.assertEqual(r["calls"]["free"], {"calls": n, "bytes": n * 1040})
            self.assertEqual([p["name"] for p in r["phases"]], ["alloc", "touch", "free"])
            self.check_faults_vs_kernel(r, ru, 2 * n * 8)
            pages = n * 1040 // PAGE
            # every page of the blocks is faulted in once (malloc writes the chunk headers)
            faults = phase(r, "alloc")["minflt"] + phase(r, "touch")["minflt"]
            self.assertGreaterEqual(faults, pages * 0.95, n)
            self.assertLessEqual(faults, pages * 1.1 + 16, n)
            # the kernel's peak resident size saw the blocks
            self.assertGreaterEqual(ru.ru_maxrss, n * 1040 // 1024)
            grown = phase(r, "touch")["rss_kb_after"] - phase(r, "alloc")["rss_kb_before"]
            self.assertGreaterEqual(grown, 0.8 * n * 1040 / 1024, n)
            # the heap end moved up while allocating
            self.assertGreater(int(phase(r, "alloc")["brk_after"], 16),
                               int(phase(r, "alloc")["brk_before"], 16) + n * 1040 * 0.9)

    def test_array_at_several_counts(self):
        for n in (1000, 10000, 100000):
            r, ru = run_wait4("array", "--count", str(n))
            self.assertEqual(r["calls"]["malloc"], {"calls": 1, "bytes": n * 1040})
            self.assertEqual(r["calls"]["free"]["calls"], 1)
            self.check_faults_vs_kernel(r, ru, 0)
            pages = n * 1040 // PAGE
            # a fresh mapping, untouched but for its chunk header; the first malloc also
            # sets up the heap (glibc's tcache lives there), a few pages more
            al = phase(r, "alloc")
            self.assertLessEqual(al["minflt"], 8)
            self.assertGreaterEqual(phase(r, "touch")["minflt"], pages * 0.95)
            # one mapping: the heap end grows by the heap's setup only (132 KiB), not by
            # the block, and free gives it all back at once
            self.assertLessEqual(int(al["brk_after"], 16) - int(al["brk_before"], 16),
                                 256 * 1024)
            fr = phase(r, "free")
            self.assertGreaterEqual(fr["rss_kb_before"] - fr["rss_kb_after"],
                                    0.8 * n * 1040 / 1024)

    def test_array_is_one_mmap_and_one_munmap_seen_by_strace(self):
        n = 10000
        lines, r = strace_lines(["array", "--count", str(n)], ["mmap", "munmap"])
        size = n * 1040
        big = [l for l in lines if re.match(r"(\d+ +)?(mmap|munmap)\(", l)
               and any(size <= int(x) <= size + 2 * PAGE
                       for x in re.findall(r"\b(\d{6,})\b", l))]
        self.assertEqual(len(big), 2, big)
        self.assertIn("mmap(NULL", big[0])
        self.assertIn("munmap(", big[1])

    def test_churn_no_touch(self):
        r, _ = run_wait4("churn", "--count", "10000", "--no-touch", "--order", "rev")
        self.assertEqual([p["name"] for p in r["phases"]], ["alloc", "free"])
        self.assertEqual(r["calls"]["free"]["calls"], 10000)


class OtherAllocators(unittest.TestCase):
    def test_malloc_recycles_dirty_memory_without_faults(self):
        r, _ = run_wait4("malloc", "--count", "2000")
        self.assertEqual(r["results"]["dirty_blocks"], 2000)
        again = phase(r, "alloc_again")
        self.assertLessEqual(again["minflt"], 2)
        self.assertEqual(again["brk_before"], again["brk_after"])
        self.assertEqual(r["calls"]["malloc"]["calls"], 2 * 2000 + 1)

    def test_calloc_small_is_cleared_large_comes_zeroed_from_mmap(self):
        n, s = 1000, 1040
        lines, r = strace_lines(["calloc", "--count", str(n), "--size", str(s)], ["mmap"])
        self.assertEqual(r["results"]["small_nonzero_blocks"], 0)
        self.assertEqual(r["results"]["large_mmapped"], 1)
        self.assertEqual(r["calls"]["calloc"], {"calls": n + 1, "bytes": 2 * n * s})
        # calloc did not write the large block: no faults until it is touched
        self.assertLessEqual(phase(r, "calloc_large")["minflt"], 2)
        self.assertGreaterEqual(phase(r, "touch_large")["minflt"], n * s // PAGE * 0.95)
        self.assertLessEqual(phase(r, "calloc_small")["minflt"], 2)
        # strace saw the mapping calloc got it from
        sizes = [int(m.group(1)) for l in lines for m in [re.search(r"mmap\(NULL, (\d+),", l)] if m]
        self.assertEqual(len([x for x in sizes if n * s <= x <= n * s + 2 * PAGE]), 1, sizes)

    def test_realloc_moves_and_mremaps(self):
        for rounds in (2, 6):
            lines, r = strace_lines(["realloc", "--rounds", str(rounds)], ["mremap"])
            res = r["results"]
            self.assertEqual(res["inplace_moves"], 0)
            self.assertEqual(res["moved_moves"], rounds)
            self.assertEqual(res["mremap_block_mmapped"], 1)
            self.assertEqual(r["calls"]["reallocarray"]["calls"], rounds)
            self.assertEqual(r["calls"]["realloc"]["calls"], 2 * rounds + 3)
            # glibc: one mremap per growth step of the mmapped block, one for its shrink
            mremaps = [l for l in lines if "mremap(" in l]
            self.assertEqual(len(mremaps), rounds + 1, mremaps)

    def test_memalign_functions(self):
        n = 500
        r, _ = run_wait4("memalign", "--count", str(n), "--align", "256")
        self.assertEqual(r["results"]["misaligned"], 0)
        for f in ("posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc"):
            self.assertEqual(r["calls"][f], {"calls": n, "bytes": n * 1040}, f)
        self.assertEqual(r["calls"]["free"]["calls"], 5 * n)
        # pvalloc rounds each block up to whole pages: 2 pages per 1040-byte block
        pv = phase(r, "pvalloc")
        self.assertGreaterEqual(int(pv["brk_after"], 16) - int(pv["brk_before"], 16),
                                0.95 * n * 2 * PAGE)
        self.assertGreaterEqual(pv["minflt"], n * 2 * 0.95)

    def test_fragment_holes_stay_resident(self):
        n = 20000
        r, _ = run_wait4("fragment", "--count", str(n), "--keep", "8")
        fs = phase(r, "free_short")
        self.assertGreaterEqual(fs["rss_kb_after"], 0.95 * fs["rss_kb_before"])
        self.assertEqual(fs["brk_before"], fs["brk_after"])
        big = phase(r, "alloc_big")
        self.assertGreater(int(big["brk_after"], 16), int(big["brk_before"], 16))
        fl = phase(r, "free_long")
        self.assertLess(int(fl["brk_after"], 16), int(fl["brk_before"], 16))
        self.assertEqual(r["calls"]["malloc"]["calls"], n + n // 8)

    def test_trim_gives_back_what_free_kept(self):
        n = 20000
        lines, r = strace_lines(["trim", "--count", str(n)], ["madvise"])
        fr, tr = phase(r, "free"), phase(r, "trim")
        self.assertGreaterEqual(fr["rss_kb_after"], 0.95 * fr["rss_kb_before"])
        self.assertGreaterEqual(tr["rss_kb_before"] - tr["rss_kb_after"], 0.8 * n * 1040 / 1024)
        self.assertEqual(r["results"]["trim_returned"], 1)
        # the workload made no madvise itself: glibc's malloc_trim did
        self.assertTrue(any("MADV_DONTNEED" in l for l in lines), lines)

    def test_thresholds_seen_by_strace(self):
        n = 6
        lines, r = strace_lines(["thresholds", "--count", str(n)], ["mmap"])
        res = r["results"]
        for k in ("tcache_1032", "tcache_1033", "fastbin_120", "fastbin_121", "mmap_131040",
                  "rise_524288"):
            self.assertEqual(res[k + "_mmapped"], 0, k)
        self.assertEqual(res["rise_1048576_mmapped"], 1)
        # the first 128 KiB block may still fit the top chunk; the rest are mmapped
        self.assertIn(res["mmap_131072_mmapped"], (n - 1, n))
        sizes = [int(m.group(1)) for l in lines
                 for m in [re.search(r"mmap\(NULL, (\d+), PROT_READ\|PROT_WRITE, "
                                     r"MAP_PRIVATE\|MAP_ANONYMOUS,", l)] if m]
        self.assertEqual(sizes.count(131072 + PAGE), res["mmap_131072_mmapped"])
        self.assertEqual(len([s for s in sizes if (1 << 20) <= s <= (1 << 20) + 2 * PAGE]), 1)
        # after the threshold rose, no 512 KiB mapping
        self.assertFalse([s for s in sizes if 512 * 1024 <= s <= 512 * 1024 + 2 * PAGE])


if __name__ == "__main__":
    memtest.main()
