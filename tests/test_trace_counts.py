"""memstudy run: counts against ground truth from the target itself, strace and getrusage."""
import re
import unittest

from memtest import memstudy_json, need_bpf, target, strace_count, main

FNS = ["malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign", "memalign",
       "aligned_alloc", "valloc", "pvalloc"]
SYSCALLS = ["brk", "mmap", "munmap", "mremap", "madvise", "mprotect"]


class TraceCounts(unittest.TestCase):
    def setUp(self):
        need_bpf(self)

    def test_allocator_calls_exact(self):
        # libc's own calls (stdio's buffer, ...) are the same with N=0: the difference is
        # exactly what the program made.
        n = 2000
        full, p = memstudy_json(["run", "--", target("allocs"), str(n)], self)
        base, _ = memstudy_json(["run", "--", target("allocs"), "0"], self)
        # glibc 2.36 has an emulated point for every function (test_probe_place.py)
        self.assertNotIn("single-step", p.stderr)
        diff = {f: full["functions"][f]["calls"] - base["functions"][f]["calls"] for f in FNS}
        want = dict(malloc=n, calloc=n, realloc=n, reallocarray=n, free=7 * n,
                    posix_memalign=n, valloc=n, pvalloc=n,
                    # glibc 2.36: aligned_alloc is memalign's address, counted once there
                    memalign=2 * n, aligned_alloc=0)
        self.assertEqual(diff, want)
        self.assertEqual(full["functions"]["aligned_alloc"]["alias_of"], "memalign")
        bytes_ = {f: full["functions"][f]["bytes"] - base["functions"][f]["bytes"] for f in FNS}
        self.assertEqual(bytes_["malloc"], 100 * n)
        self.assertEqual(bytes_["calloc"], 100 * n)
        self.assertEqual(bytes_["realloc"], 200 * n)
        self.assertEqual(bytes_["reallocarray"], 300 * n)
        self.assertEqual(bytes_["memalign"], 228 * n)
        # libc's own calls in a run are few: bound them so a regression shows.
        self.assertLessEqual(base["functions"]["malloc"]["calls"], 5)
        self.assertEqual(full["lost_events"], 0)
        for f in FNS:
            fn = full["functions"][f]
            self.assertEqual(fn["failed"], 0, f)
            if fn["calls"]:
                lat = fn["latency_ns"]
                self.assertTrue(0 < lat["p50"] <= lat["p99"] <= lat["max"], (f, lat))
                self.assertEqual(sum(b["count"] for b in lat["histogram"]), fn["calls"])

    def test_syscalls_equal_strace(self):
        k = 150
        rep, _ = memstudy_json(["run", "--", target("syscalls"), str(k)], self)
        truth, _ = strace_count([target("syscalls"), str(k)], SYSCALLS)
        got = {s: rep["syscalls"][s]["calls"] for s in SYSCALLS}
        self.assertEqual(got, truth)
        self.assertGreaterEqual(truth["mremap"], k)
        # sbrk(4096) then sbrk(-4096), k times
        self.assertGreaterEqual(rep["syscalls"]["brk"]["grow_bytes"], 4096 * k)
        self.assertGreaterEqual(rep["syscalls"]["brk"]["shrink_bytes"], 4096 * k)
        self.assertEqual(rep["syscalls"]["mremap"]["grow_bytes"], 65536 * k)
        self.assertEqual(rep["syscalls"]["madvise"]["bytes"], 8192 * k)

    def test_big_malloc_one_mmap_inside_malloc_one_munmap_inside_free(self):
        k = 12
        rep, _ = memstudy_json(["run", "--", target("bigalloc"), str(k)], self)
        m, f = rep["functions"]["malloc"], rep["functions"]["free"]
        self.assertEqual(m["kernel"]["syscalls"]["mmap"], k)
        self.assertEqual(f["kernel"]["syscalls"]["munmap"], k)
        self.assertEqual(rep["syscalls"]["munmap"]["in_alloc_calls"], k)
        self.assertGreaterEqual(rep["syscalls"]["mmap"]["in_alloc_calls"], k)
        self.assertGreater(f["kernel"]["syscall_ns"], 0)
        # each 1 MiB block is written in full: 256 first-touch faults, one of them (the
        # chunk header) inside malloc
        self.assertGreaterEqual(rep["page_faults"]["user"], 256 * k)
        self.assertLess(rep["page_faults"]["user"], 256 * k + 200)
        self.assertGreaterEqual(m["kernel"]["page_faults"], k)
        self.assertEqual(rep["page_faults"]["in_alloc_calls"],
                         sum(rep["functions"][x]["kernel"]["page_faults"] for x in FNS))

    def test_major_faults_equal_getrusage(self):
        pages = 300
        rep, p = memstudy_json(["run", "--", target("majfault"), str(pages)], self)
        m = re.search(r"minflt (\d+) majflt (\d+)", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        self.assertEqual(int(m.group(2)), pages)  # the target's own getrusage, its loop
        # memstudy traces the whole process: its whole count (a busy machine may evict a
        # page of its code, read back in as one more major fault outside the loop)
        total = re.search(r"total_majflt (\d+)", p.stdout)
        self.assertEqual(rep["page_faults"]["major"], int(total.group(1)))

    def test_exit_status_and_stdout_pass_through(self):
        _, p = memstudy_json(["run", "--", "/bin/sh", "-c", "echo hello; exit 7"], self)
        self.assertEqual(p.returncode, 7)
        self.assertIn("hello", p.stdout)


if __name__ == "__main__":
    main()
