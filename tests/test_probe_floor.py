"""--probe-floor: empty programs at exactly the probe points memstudy itself uses (the floor
bench/overhead.py measures against), or at the allocator's uprobes only with =uprobes.

What is attached is read from the kernel: the fdinfo of each BPF link memstudy holds names
its tracepoint, perf event or probed file and offsets, and its program."""
import os
import re
import signal
import subprocess
import time
import unittest

from memtest import MEMSTUDY, WORKLOAD, need_bpf, main

SYSCALLS = ["brk", "mmap", "munmap", "mremap", "madvise", "mprotect"]


def prog_name(prog_id, cache={}):
    if prog_id not in cache:
        p = subprocess.run(["bpftool", "prog", "show", "id", prog_id], capture_output=True,
                           text=True)
        m = re.match(r"\d+: \S+\s+name (\S+)", p.stdout)
        cache[prog_id] = m.group(1) if m else "?"
    return cache[prog_id]


def attachments(pid):
    """[(what is probed, program name)] for every BPF link process PID holds."""
    found = []
    fdinfo = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                text = f.read()
        except OSError:
            continue
        info = dict(re.findall(r"^(\w+):\t(.*)$", text, re.M))
        kind = info.get("link_type")
        if not kind:
            continue
        if kind.endswith("probe_multi"):
            offsets = tuple(sorted(re.findall(r"^\d+\t 0x([0-9a-f]+)\t", text, re.M)))
            what = (kind, info["path"], offsets)
        elif kind == "perf" and info.get("event_type") == "event":
            what = (kind, "event type %s config %s" % (info["type"], info["config"]))
        elif "tp_name" in info:
            what = (kind, info["tp_name"])
        else:
            what = (kind, text)
        found.append((what, prog_name(info["prog_id"])))
    return sorted(found)


class ProbeFloor(unittest.TestCase):
    def setUp(self):
        need_bpf(self)
        # A workload waiting before its first phase: has a phase marker, calls nothing.
        self.w = subprocess.Popen([WORKLOAD, "churn", "--count", "10", "--wait"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.stop_workload)
        self.assertTrue(self.w.stderr.readline().startswith("ready"))

    def stop_workload(self):
        self.w.kill()
        self.w.communicate()

    def attached_by(self, *mode):
        """What memstudy --pid MODE attaches, once it has attached all of it."""
        m = subprocess.Popen([MEMSTUDY, "--pid", str(self.w.pid), "-o", "/dev/null",
                              "--no-calibrate"] + list(mode),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            last, seen, deadline = None, None, time.time() + 20
            # The allocator's probes go on last: stable and holding them means done.
            while time.time() < deadline:
                seen = attachments(m.pid)
                if seen == last and any(w[0] == "uprobe_multi" for w, _ in seen):
                    break
                last = seen
                time.sleep(0.3)
            else:
                self.fail("memstudy %s never finished attaching: %s" % (mode, seen))
        finally:
            m.send_signal(signal.SIGINT)
            err = m.communicate(timeout=30)[1]
        self.assertEqual(m.returncode, 0, err)
        return seen

    def test_floor_sits_where_memstudy_does(self):
        real = self.attached_by()
        floor = self.attached_by("--probe-floor")
        uprobes = self.attached_by("--probe-floor=uprobes")

        # memstudy's own probe points, from the kernel's side.
        points = [w for w, _ in real]
        tps = sorted(w[1] for w in points if w[0] == "perf" and w[1].startswith("sys_"))
        self.assertEqual(tps, sorted("sys_%s_%s" % (d, s) for s in SYSCALLS
                                     for d in ("enter", "exit")))
        # sched_process_exec: an exec of the target is reported (issue 12)
        # sched_switch: the time a slow call spent switched out (issue 15)
        self.assertEqual(sorted(w[1] for w in points if w[0] == "raw_tracepoint"),
                         ["page_fault_kernel", "page_fault_user", "sched_process_exec",
                          "sched_process_exit", "sched_process_fork", "sched_switch"])
        online = os.sysconf("SC_NPROCESSORS_ONLN")
        self.assertEqual(points.count(("perf", "event type 1 config 6")), online,
                         "one major-fault software event per CPU")
        multi = [w for w in points if w[0].endswith("probe_multi")]
        in_libc = [w for w in multi if "libc" in w[1]]
        # eleven functions, aligned_alloc at memalign's address: ten entry points
        libc = [w for w in in_libc if len(w[2]) == 10]
        self.assertEqual(sorted(w[0] for w in libc), ["uprobe_multi", "uretprobe_multi"])
        # with libc6-dbg (installed here and in CI): glibc's five internal steps
        steps = [w for w in in_libc if w not in libc]
        self.assertEqual(sorted((w[0], len(w[2])) for w in steps),
                         [("uprobe_multi", 5), ("uretprobe_multi", 5)])
        phase = [w for w in multi if w not in in_libc]
        self.assertEqual([(w[0], w[1], len(w[2])) for w in phase],
                         [("uprobe_multi", os.path.realpath(WORKLOAD), 1)],
                         "one phase-marker probe in the workload")
        # 12 syscall tracepoints, 6 tp_btf (exit, exec, fork, switch, two faults), the
        # major-fault events, 3 multi-uprobe links and 2 for the steps
        self.assertEqual(len(points), 12 + 6 + online + 3 + 2)
        self.assertFalse([n for _, n in real if n.startswith("floor_")])

        # The floor: the same points, every one with an empty program.
        self.assertEqual([w for w, _ in floor], points)
        self.assertEqual([n for _, n in floor if not n.startswith("floor_")], [])
        # =uprobes: the allocator's entry and return probes, nothing else.
        self.assertEqual([w for w, _ in uprobes], sorted(libc))
        self.assertEqual(sorted(n for _, n in uprobes), ["floor_enter", "floor_exit"])


def link_pids(pid):
    """{pid filter: [program names]} of the multi-uprobe links process PID holds."""
    out = {}
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                info = dict(re.findall(r"^(\w+):\t(.*)$", f.read(), re.M))
        except OSError:
            continue
        if info.get("link_type", "").endswith("probe_multi"):
            out.setdefault(int(info["pid"]), []).append(prog_name(info["prog_id"]))
    return out


class ProbeFloorFollow(unittest.TestCase):
    """--probe-floor --follow: a child the shell forks and execs gets the floor's empty
    programs, for its own pid, before it runs (bench/follow.py's floor)."""

    def test_children_get_the_floor(self):
        need_bpf(self)
        m = subprocess.Popen([MEMSTUDY, "run", "--probe-floor", "--follow", "--no-calibrate",
                              "-o", "/dev/null", "--", "sh", "-c",
                              WORKLOAD + " churn --count 10 --wait; true"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        try:
            # the workload says ready once it runs: its probes were placed before that
            line = m.stderr.readline()
            self.assertTrue(line.startswith("ready"), line)
            child = int(line.split()[1])
            links = link_pids(m.pid)
            seen = attachments(m.pid)
        finally:
            m.stdin.write("x")
            m.stdin.flush()
            err = m.communicate(timeout=60)[1]
        self.assertEqual(m.returncode, 0, err)
        self.assertIn("--probe-floor: empty programs were attached", err)
        self.assertIn(child, links, links)
        self.assertEqual(sorted(set(links[child])), ["floor_enter", "floor_exit"])
        # the tree's own tracepoints are memstudy's: they stop each new process until its
        # probes are in place; every other program is the floor's
        tree = {w[1]: n for w, n in seen if w[0] == "raw_tracepoint" and
                w[1] in ("sched_process_fork", "sched_process_exec", "sched_process_exit")}
        self.assertEqual(sorted(tree), ["sched_process_exec", "sched_process_exit",
                                        "sched_process_fork"])
        self.assertFalse([n for n in tree.values() if n.startswith("floor_")], tree)
        others = [n for w, n in seen if w[0] != "raw_tracepoint" or w[1] not in tree]
        self.assertEqual([n for n in others if not n.startswith("floor_")], [])


if __name__ == "__main__":
    main()
