"""Per-thread state in the kernel (tid-indexed slots, bpf/memstudy.bpf.c): threads that come
and go claim a slot and give it back when they exit; a thread whose slot a live thread
holds keeps its state in task storage. Either way every call is counted."""
import unittest

from memtest import memstudy_json, need_bpf, target, main

WAVES, M = 100, 50  # target-thread_churn: waves of two threads, M malloc/free each


class ThreadState(unittest.TestCase):
    def setUp(self):
        need_bpf(self)

    def churn(self, slots):
        rep, p = memstudy_json(["run", "--no-calibrate", "--thread-slots", str(slots), "--",
                                target("thread_churn"), str(WAVES), str(M)], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(rep["lost_events"], 0)
        return rep

    def test_short_lived_threads(self):
        base, _ = memstudy_json(["run", "--no-calibrate", "--", target("thread_churn"), "0"],
                                self)
        full = self.churn(65536)
        small = self.churn(4)
        want = 2 * WAVES * M + base["functions"]["malloc"]["calls"]
        for rep in (full, small):
            self.assertEqual(rep["functions"]["malloc"]["calls"], want)
        # libc frees each exiting thread's caches: the same number whatever the slots
        self.assertEqual(small["functions"]["free"]["calls"], full["functions"]["free"]["calls"])
        self.assertGreaterEqual(full["functions"]["free"]["calls"], 2 * WAVES * M)
        # pid_max slots: tids never collide
        self.assertEqual(full["overhead"]["threads_in_task_storage"], 0)
        # four slots, the main thread in one: about a quarter of the 200 threads find theirs
        # taken; were slots not given back at exit, nearly all would
        spilled = small["overhead"]["threads_in_task_storage"]
        self.assertGreater(spilled, 0)
        self.assertLess(spilled, WAVES)


if __name__ == "__main__":
    main()
