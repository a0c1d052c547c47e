"""Hardening (issue 12): output paths another user controls are refused, every write error
is reported and the report is not lost, numbers are checked against their ranges, loss in
per-allocation mode is said, execs are reported, and Ctrl-C in run mode waits as it says.

Each test here failed before its fix."""
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

import memtest
from memtest import MEMSTUDY, WORKLOAD, memstudy, memstudy_json, need_bpf, target, main

NOBODY = 65534


def plant_link(path, to):
    """A symbolic link owned by another user (nobody), as an attacker would leave it."""
    os.symlink(to, path)
    os.lchown(path, NOBODY, NOBODY)


class OutputPaths(unittest.TestCase):
    """Nothing is written through a link or a directory another user controls."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to act as the victim and to plant another user's files")
        self.tmp = tempfile.mkdtemp(prefix="test_hardening.")
        os.chmod(self.tmp, 0o755)
        self.secret = os.path.join(self.tmp, "secret")
        with open(self.secret, "w") as f:
            f.write("root only\n")
        os.chmod(self.secret, 0o600)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assertUntouched(self):
        with open(self.secret) as f:
            self.assertEqual(f.read(), "root only\n")
        self.assertEqual(stat.S_IMODE(os.stat(self.secret).st_mode), 0o600)

    def test_study_refuses_a_directory_of_another_user(self):
        d = os.path.join(self.tmp, "q")
        os.mkdir(d)
        plant_link(os.path.join(d, "report.md"), self.secret)
        plant_link(os.path.join(d, "cases.csv"), os.path.join(self.tmp, "created"))
        os.chown(d, NOBODY, NOBODY)
        p = memstudy(["study", "--quick", "-o", d])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("refusing to write into", p.stderr)
        self.assertIn("nobody", p.stderr)
        self.assertUntouched()
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "created")))

    def test_study_refuses_a_directory_others_can_write(self):
        d = os.path.join(self.tmp, "shared")
        os.mkdir(d)
        os.chmod(d, 0o777)
        p = memstudy(["study", "--quick", "-o", d])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("other users can write to it", p.stderr)
        self.assertEqual(os.listdir(d), [])

    def test_run_refuses_a_link_planted_in_a_sticky_directory(self):
        d = os.path.join(self.tmp, "sticky")
        os.mkdir(d)
        os.chmod(d, 0o1777)
        link = os.path.join(d, "out.txt")
        plant_link(link, self.secret)
        for opt in ("-o", "-j"):
            with self.subTest(opt=opt):
                # refused before anything is traced: exit 2, the command never runs
                p = memstudy(["run", opt, link, "--", "/bin/true"])
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("refusing to write " + link, p.stderr)
                self.assertIn("symbolic link", p.stderr)
        self.assertUntouched()

    def test_run_refuses_a_file_of_another_user_in_a_sticky_directory(self):
        d = os.path.join(self.tmp, "sticky")
        os.mkdir(d)
        os.chmod(d, 0o1777)
        planted = os.path.join(d, "report.json")
        with open(planted, "w") as f:
            f.write("planted")
        os.chown(planted, NOBODY, NOBODY)
        p = memstudy(["run", "-j", planted, "--", "/bin/true"])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("belongs to user nobody", p.stderr)
        with open(planted) as f:
            self.assertEqual(f.read(), "planted")

    def test_maps_refuses_a_directory_of_another_user(self):
        d = os.path.join(self.tmp, "theirs")
        os.mkdir(d)
        os.chown(d, NOBODY, NOBODY)
        for args in (["--json", os.path.join(d, "a.json")], ["--save", os.path.join(d, "a.json")]):
            with self.subTest(args=args):
                p = memstudy(["maps", str(os.getpid())] + args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("refusing to write", p.stderr)
        self.assertEqual(os.listdir(d), [])

    def test_own_links_and_devices_still_work(self):
        # /dev/stdout is root's link in root's /dev: followed; /dev/null is a device
        p = memstudy(["maps", str(os.getpid()), "--json", "/dev/stdout"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["pid"], os.getpid())
        mine = os.path.join(self.tmp, "mine.json")
        os.symlink(os.path.join(self.tmp, "real.json"), mine)
        p = memstudy(["maps", str(os.getpid()), "--save", mine])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.tmp, "real.json")) as f:
            self.assertEqual(json.load(f)["pid"], os.getpid())

    def test_study_creates_its_directory_for_the_sudo_caller(self):
        d = os.path.join(self.tmp, "new")
        p = memstudy(["study", "--list-cases", "-o", d])  # plans only: no directory yet
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists(d))


class WriteErrors(unittest.TestCase):
    """A full disk is named, exits 1, and the report goes to stderr instead."""

    def test_run_text_report_to_a_full_device(self):
        need_bpf(self)
        p = memstudy(["run", "-o", "/dev/full", "--", target("allocs"), "10"])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("cannot write /dev/full: No space left on device", p.stderr)
        self.assertIn("the report follows on stderr", p.stderr)
        self.assertIn("Allocator calls", p.stderr)

    def test_run_json_to_a_full_device(self):
        need_bpf(self)
        p = memstudy(["run", "-j", "/dev/full", "-o", "/dev/null", "--", target("allocs"), "10"])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("No space left on device", p.stderr)
        doc = p.stderr[p.stderr.index("\n{") + 1:]
        self.assertEqual(json.loads(doc)["functions"]["calloc"]["calls"], 10)

    def test_stdout_on_a_full_device(self):
        need_bpf(self)
        with open("/dev/full", "w") as full:
            p = subprocess.run([MEMSTUDY, "run", "--", target("allocs"), "10"], stdout=full,
                               stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("No space left on device", p.stderr)
        self.assertIn("Allocator calls", p.stderr)

    def test_maps_outputs_to_a_full_device(self):
        pid = str(os.getpid())
        with tempfile.TemporaryDirectory() as d:
            snap = os.path.join(d, "a.json")
            self.assertEqual(memstudy(["maps", pid, "--save", snap]).returncode, 0)
            for args in (["maps", pid, "--save", "/dev/full"], ["maps", pid, "--json", "/dev/full"],
                         ["maps", "--diff", snap, snap, "--json", "/dev/full"]):
                with self.subTest(args=args):
                    p = memstudy(args)
                    self.assertEqual(p.returncode, 1, p.stderr)
                    self.assertIn("cannot write /dev/full: No space left on device", p.stderr)
        with open("/dev/full", "w") as full:
            for args in (["maps", pid], ["--help"], ["maps", "--help"]):
                with self.subTest(args=args):
                    p = subprocess.run([MEMSTUDY] + args, stdout=full, stderr=subprocess.PIPE,
                                       text=True)
                    self.assertEqual(p.returncode, 1, p.stderr)
                    self.assertIn("cannot write standard output", p.stderr)


class Numbers(unittest.TestCase):
    """Every numeric option rejects what it cannot hold, with its range (exit 2)."""

    def test_bad_numbers(self):
        cases = [
            (["-p", "1", "-d", "nan"], "--duration takes a number of seconds from"),
            (["-p", "1", "-d", "inf"], "--duration takes"),
            (["-p", "1", "-i", "nan"], "--interval takes"),
            (["-p", "1", "-d", "5s"], "--duration takes"),
            (["-p", "-5"], "--pid takes a process ID"),
            (["-p", "1.5"], "--pid takes a process ID"),
            (["run", "--top", "0", "--", "true"], "--top takes a whole number from 1 to 4096"),
            (["run", "--top", "2.5", "--", "true"], "--top takes"),
            (["run", "--ring-buffer", "3", "--", "true"], "power of two"),
            (["run", "--ring-buffer", "4096", "--", "true"], "from 1 to 1024"),
            (["run", "--thread-slots", "3", "--", "true"], "power of two"),
            (["study", "--sizes", "nan"], "--sizes: each size is"),
            (["study", "--sizes", "1.5"], "--sizes: each size is"),
            (["study", "--sizes", "64,,1040"], "no empty item"),
            (["study", "--sizes", "64,"], "no empty item"),
            (["study", "--mem-budget", "1e30"], "--mem-budget takes"),
            (["study", "--repeat", "17"], "--repeat takes a whole number from 1 to 16"),
            (["study", "--repeat", "0"], "--repeat takes"),
            (["study", "--min", "0"], "--min takes"),
            (["study", "--max", "1e10"], "--max takes"),
            (["study", "--orders", "fwd,,rev"], "no empty item"),
            (["study", "--workloads", "churn,bogus"], "--workloads takes"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                p = memstudy(args)
                self.assertEqual(p.returncode, 2, (p.stdout, p.stderr))
                self.assertTrue(p.stderr.startswith("memstudy: "), p.stderr)
                self.assertIn(words, p.stderr)

    def test_study_from_a_plan_of_the_wrong_shape(self):
        with tempfile.TemporaryDirectory() as d:
            for plan in ('{"cases": []}', '{"cases": [{"name": "nonsense"}]}', '[1, 2]',
                         '{"cases": [{"name": "array-1040-1e3", "file": "../../etc"}]}'):
                with self.subTest(plan=plan):
                    with open(os.path.join(d, "plan.json"), "w") as f:
                        f.write(plan)
                    p = memstudy(["study", "--from", d])
                    self.assertEqual(p.returncode, 1, p.stderr)
                    self.assertIn("--from takes a directory written by", p.stderr)

    def test_inputs_read_whole_have_a_limit(self):
        with tempfile.TemporaryDirectory() as d:
            big = os.path.join(d, "big.json")
            with open(big, "wb") as f:
                f.truncate(65 << 20)
            t0 = time.monotonic()
            p = memstudy(["maps", "--diff", big, big])
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("more than the 64 MiB memstudy reads", p.stderr)
            self.assertLess(time.monotonic() - t0, 10, "refused without reading it all")
            broken = os.path.join(d, "broken.json")
            with open(broken, "w") as f:
                f.write('{"mappings": [1, 2')
            p = memstudy(["maps", "--diff", broken, broken])
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("not JSON", p.stderr)
            self.assertIn("at byte", p.stderr)


class Loss(unittest.TestCase):
    """Per-allocation mode says when its figures are incomplete, and why a free was unknown."""

    def setUp(self):
        need_bpf(self)

    def test_dropped_records_are_said(self):
        n = 200000
        w = subprocess.Popen([target("waiter"), str(n)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        try:
            self.assertTrue(w.stdout.readline().startswith("ready"))
            with tempfile.NamedTemporaryFile(suffix=".json") as js:
                t = subprocess.Popen([MEMSTUDY, "--pid", str(w.pid), "--per-allocation",
                                      "--ring-buffer", "1", "--json", js.name],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                self.assertIn("tracing PID", t.stderr.readline())
                # the collector stopped while the target makes 400k records: a 1 MiB ring
                # buffer holds ~18k of them
                t.send_signal(signal.SIGSTOP)
                w.stdin.write("go\n")
                w.stdin.flush()
                self.assertEqual(w.stdout.readline().strip(), "done %d" % n)
                t.send_signal(signal.SIGCONT)
                t.send_signal(signal.SIGINT)
                out, err = t.communicate(timeout=120)
                self.assertEqual(t.returncode, 0, err)
                rep = json.load(js)
        finally:
            w.kill()
            w.wait()
        pa = rep["per_allocation"]
        self.assertFalse(pa["complete"])
        self.assertGreater(pa["dropped"]["alloc_records"], 0)
        self.assertGreater(pa["dropped"]["free_records"], 0)
        self.assertEqual(rep["lost_by_reason"]["ring_buffer"],
                         sum(pa["dropped"][k] for k in ("alloc_records", "free_records",
                                                        "fault_records", "map_records",
                                                        "kernel_work_records",
                                                        "rss_records")))
        causes = pa["unknown_frees_by_cause"]
        self.assertEqual(sum(causes.values()), pa["unknown_frees"])
        self.assertLessEqual(causes["records_lost"], pa["dropped"]["alloc_records"])
        # (which unknown free is put down to a lost record is checked exactly on synthetic
        # record streams in tests/unit)
        self.assertIn("INCOMPLETE", out)
        self.assertIn("records were lost", out)

    def test_glibc_own_blocks_are_not_called_pre_tracing(self):
        # each exiting thread's tcache was allocated inside glibc without a call through
        # malloc, and is freed through free() at thread exit
        waves = 20
        rep, p = memstudy_json(["run", "--per-allocation", "--", target("thread_churn"),
                                str(waves), "5"], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        pa = rep["per_allocation"]
        self.assertTrue(pa["complete"])
        causes = pa["unknown_frees_by_cause"]
        self.assertEqual(causes["before_tracing"], 0, "run mode: nothing predates tracing")
        self.assertEqual(causes["records_lost"], 0)
        self.assertGreaterEqual(causes["allocator_internal"], 2 * waves)


class Execs(unittest.TestCase):
    def setUp(self):
        need_bpf(self)

    def test_exec_into_a_static_program_is_reported(self):
        rep, p = memstudy_json(["run", "--", "/bin/sh", "-c",
                                "exec %s 1000" % target("static-stripped")], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        ex = rep["target"]["execs"]
        self.assertEqual(len(ex), 1, ex)
        self.assertEqual(ex[0]["exe"], target("static-stripped"))
        self.assertFalse(ex[0]["probed"])
        self.assertIn("exec'ed %s" % target("static-stripped"), p.stderr)
        self.assertIn("not in this report", p.stderr)

    def test_exec_into_the_same_libc_is_counted_and_said(self):
        rep, p = memstudy_json(["run", "--", "/bin/sh", "-c",
                                "exec %s 1000" % target("allocs")], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        ex = rep["target"]["execs"]
        self.assertEqual([(e["exe"], e["probed"]) for e in ex], [(target("allocs"), True)])
        self.assertGreaterEqual(rep["functions"]["calloc"]["calls"], 1000)
        self.assertNotIn("warning", p.stderr)

    def test_no_exec_no_entry(self):
        rep, p = memstudy_json(["run", "--", target("allocs"), "10"], self)
        self.assertEqual(rep["target"]["execs"], [])


class CtrlC(unittest.TestCase):
    """SIGINT to memstudy alone in run mode: the trace stops, memstudy waits and says so."""

    def setUp(self):
        need_bpf(self)

    def start(self):
        p = subprocess.Popen([MEMSTUDY, "run", "-o", "/dev/null", "--", target("waiter"), "10"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        self.assertTrue(line.startswith("ready"), line)
        return p, int(line.split()[1])

    def wait_for_line(self, p, words):
        for line in p.stderr:
            if words in line:
                return line
        self.fail("memstudy never said '%s'" % words)

    def test_second_ctrl_c_leaves_the_command_running(self):
        p, child = self.start()
        try:
            p.send_signal(signal.SIGINT)
            self.wait_for_line(p, "waiting for PID %d" % child)
            p.send_signal(signal.SIGINT)
            line = self.wait_for_line(p, "left PID %d" % child)
            self.assertIn("running, untraced", line)
            p.wait(timeout=30)
            self.assertEqual(p.returncode, 130)
            os.kill(child, 0)  # still there
        finally:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.kill()
            p.wait()

    def test_after_ctrl_c_the_command_s_status_is_memstudy_s(self):
        p, child = self.start()
        try:
            p.send_signal(signal.SIGINT)
            self.wait_for_line(p, "waiting for PID %d" % child)
            p.stdin.write("go\ngo\n")  # the waiter allocates, then exits 0
            p.stdin.flush()
            p.wait(timeout=60)
            self.assertEqual(p.returncode, 0)
        finally:
            p.kill()
            p.wait()


class SmallThings(unittest.TestCase):
    def test_zombie(self):
        pp = subprocess.Popen(["python3", "-c", "import os,time,sys\n"
                               "p=os.fork()\nif p==0: os._exit(0)\n"
                               "print(p, flush=True); time.sleep(60)"], stdout=subprocess.PIPE,
                              text=True)
        try:
            z = int(pp.stdout.readline())
            # synchronise on the state: the child has exited and is not reaped
            for _ in range(1000):
                with open("/proc/%d/stat" % z) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
                time.sleep(0.01)
            for args in (["maps", str(z)], ["--pid", str(z)]):
                with self.subTest(args=args):
                    p = memstudy(args)
                    self.assertEqual(p.returncode, 1, p.stderr)
                    self.assertIn("PID %d is a zombie" % z, p.stderr)
                    self.assertIn("PID %d, has not reaped it" % pp.pid, p.stderr)
        finally:
            pp.kill()
            pp.wait()

    def test_static_program_without_malloc(self):
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "nomalloc.c"), os.path.join(d, "nomalloc")
            with open(src, "w") as f:
                f.write("void _start(void) { __asm__ volatile(\"mov $60, %eax; xor %edi, %edi;"
                        " syscall\"); }\n")
            subprocess.run(["cc", "-static", "-nostdlib", "-o", exe, src], check=True)
            p = memstudy(["run", "--dry-run", "--", exe])
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("statically linked and not stripped, and defines no malloc",
                          p.stderr)
            self.assertNotIn("and stripped", p.stderr)


if __name__ == "__main__":
    main()
