"""Bad input and faults: one clear line, a non-zero exit, never a probe left behind.
Also the allocator choice: libc, an LD_PRELOADed library, the program itself."""
import json
import os
import shutil
import signal
import subprocess
import time
import unittest

from memtest import MEMSTUDY, TARGETS, memstudy, memstudy_json, need_bpf, target, run, main


def loaded_prog_ids():
    return {p["id"] for p in json.loads(run(["bpftool", "-j", "prog", "show"]).stdout or "[]")}


def prog_ids_held_by(pid):
    """BPF programs a process holds, from the prog_id lines of its fds' fdinfo."""
    ids = set()
    fddir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fddir):
        try:
            with open(os.path.join(fddir, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


class Errors(unittest.TestCase):
    def check_error(self, p, code, *words):
        self.assertEqual(p.returncode, code, (p.stdout, p.stderr))
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        self.assertGreaterEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("memstudy: "), lines)
        for w in words:
            self.assertIn(w, p.stderr)
        self.assertNotIn("Traceback", p.stderr)
        self.assertNotIn("Segmentation", p.stderr)

    def test_no_such_pid(self):
        need_bpf(self)
        self.check_error(memstudy(["--pid", "999999999"]), 1, "no process with PID 999999999")

    def test_kernel_thread(self):
        need_bpf(self)
        self.check_error(memstudy(["--pid", "2"]), 1, "kernel thread")

    def test_bad_options(self):
        for args, words in [(["--bogus"], "unknown option"),
                            (["--pid", "abc"], "--pid takes a process ID"),
                            (["--pid", "1", "--duration", "-1"], "--duration takes"),
                            (["--pid"], "needs a value"),
                            (["run"], "run needs a command"),
                            (["run", "--pid", "3", "--", "true"], "does not go with run"),
                            ([], "say what to trace"),
                            (["frobnicate"], "unknown command")]:
            with self.subTest(args=args):
                self.check_error(memstudy(args), 2, words)

    def test_command_cannot_run(self):
        self.check_error(memstudy(["run", "--", "/nonexistent/prog"]), 127, "cannot run")
        self.check_error(memstudy(["run", "--", "no-such-command-xyz"]), 127, "not found in PATH")
        self.check_error(memstudy(["run", "--", "/etc/passwd"]), 126, "not an executable")

    def test_no_allocator_symbols(self):
        p = memstudy(["run", "--", target("static-stripped"), "1"])
        self.check_error(p, 1, "no allocator symbols", target("static-stripped"))

    def test_not_root(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to become another user")
        p = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                 MEMSTUDY, "run", "--", "/bin/true"])
        self.check_error(p, 1, "needs root", "sudo")
        self.assertIn("CAP_BPF", p.stderr)

    def test_tracefs_not_mounted(self):
        need_bpf(self)
        # In a private mount namespace: unmount tracefs there only.
        script = ("umount /sys/kernel/debug/tracing 2>/dev/null; umount /sys/kernel/tracing; "
                  "test ! -e /sys/kernel/tracing/events || exit 99; \"$@\"")
        sh = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
        p = run(sh + [MEMSTUDY, "run", "--no-mount", "--", "/bin/true"])
        if p.returncode == 99:
            self.skipTest("tracefs could not be unmounted in a private namespace")
        self.check_error(p, 1, "tracefs is not mounted", "mount -t tracefs nodev")
        # without --no-mount memstudy mounts it itself and traces
        p = run(sh + [MEMSTUDY, "run", "--", "/bin/true"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Allocator calls", p.stdout)

    def test_no_probe_left_behind(self):
        need_bpf(self)
        # memstudy's normal end, Ctrl-C, and SIGKILL of memstudy itself: every program it
        # held is gone afterwards (link and program fds die with the process).
        for sig in (None, signal.SIGINT, signal.SIGKILL):
            w = subprocess.Popen(["sleep", "30"])
            args = ["--pid", str(w.pid)] + (["--duration", "1"] if sig is None else [])
            m = subprocess.Popen([MEMSTUDY] + args, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
            self.assertIn("tracing PID", m.stderr.readline())
            held = prog_ids_held_by(m.pid)
            self.assertGreaterEqual(len(held), 8, held)
            if sig is not None:
                m.send_signal(sig)
            m.wait(timeout=30)
            m.stderr.close()
            time.sleep(0.2)  # programs are freed after an RCU grace period
            self.assertEqual(held & loaded_prog_ids(), set(), "after %s" % sig)
            self.assertIsNone(w.poll(), "the target must survive memstudy's end")
            w.kill()
            w.wait()


class AllocatorChoice(unittest.TestCase):
    def setUp(self):
        need_bpf(self)

    def test_preloaded_allocator_wins(self):
        lib = os.path.join(TARGETS, "libbumpalloc.so")
        env = dict(os.environ, LD_PRELOAD=lib)
        rep, p = memstudy_json(["run", "--", target("allocs"), "50"], self, env=env)
        self.assertEqual(rep["target"]["allocator"], lib)
        self.assertEqual(rep["functions"]["calloc"]["calls"], 50)
        # the library has no pvalloc: reported as not traced, not fatal
        self.assertFalse(rep["functions"]["pvalloc"]["traced"])
        self.assertTrue(rep["functions"]["malloc"]["traced"])
        # --pid resolves the same library from /proc/PID/maps
        d = memstudy(["run", "--dry-run", "--", target("allocs")], env=env)
        self.assertIn(lib, d.stdout)
        self.assertIn("pvalloc         not defined there", d.stdout)

    def test_allocator_in_the_program(self):
        rep, p = memstudy_json(["run", "--", target("ownmalloc"), "400"], self)
        self.assertEqual(rep["target"]["allocator"], target("ownmalloc"))
        self.assertEqual(rep["functions"]["malloc"]["calls"], 400)
        self.assertEqual(rep["functions"]["free"]["calls"], 400)

    def test_pid_mode_finds_preloaded_allocator(self):
        lib = os.path.join(TARGETS, "libbumpalloc.so")
        w = subprocess.Popen(["sleep", "30"], env=dict(os.environ, LD_PRELOAD=lib))
        try:
            time.sleep(0.2)
            p = memstudy(["--pid", str(w.pid), "--dry-run"])
        finally:
            w.kill()
            w.wait()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("allocator: " + lib, p.stdout)


if __name__ == "__main__":
    main()
