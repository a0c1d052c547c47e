"""malloc_trim is traced as an allocator function (issue 15, item 4): its calls, its latency,
and the kernel work inside it, checked against strace. tests/targets/trim.c frees a heap's
middle and calls malloc_trim(0) once: every madvise the program makes is malloc_trim's."""
import unittest

from memtest import memstudy_json, need_bpf, strace_count, target, main


class MallocTrim(unittest.TestCase):
    def setUp(self):
        need_bpf(self)

    def test_malloc_trim_has_its_madvise(self):
        cmd = [target("trim"), "20000"]
        counts, out = strace_count(cmd, ["madvise"])
        self.assertIn("trimmed 1", out.stdout)  # glibc gave memory back
        self.assertGreater(counts["madvise"], 0)
        rep, p = memstudy_json(["run", "--"] + cmd, self)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(rep["lost_events"], 0)
        trim = rep["functions"]["malloc_trim"]
        self.assertTrue(trim["traced"])
        self.assertEqual(trim["calls"], 1)
        self.assertEqual(trim["bytes"], 0)
        self.assertEqual(rep["syscalls"]["madvise"]["calls"], counts["madvise"])
        # all of them inside malloc_trim, none outside an allocator call
        self.assertEqual(trim["kernel"]["syscalls"]["madvise"], counts["madvise"])
        self.assertEqual(rep["syscalls"]["madvise"]["in_alloc_calls"], counts["madvise"])
        self.assertGreater(trim["kernel"]["syscall_ns"], 0)
        self.assertGreaterEqual(trim["latency_ns"]["max"], trim["kernel"]["syscall_ns"])
        # a malloc_trim is not an allocation
        self.assertEqual(rep["functions"]["malloc"]["calls"], 20000 + 1)  # + stdio's buffer


if __name__ == "__main__":
    main()
