"""Custom allocators (issue 16, items 3-4): specs on the command line and in files, and the
built-in specs memstudy chooses by their symbols, on real programs:

- a C program on Debian's libapr1 (tests/targets/custom/apr_pools.c) that creates,
  allocates in, clears and destroys pools: its own counts are the oracle, and per-allocation
  mode must end every block of a cleared or destroyed pool, children included;
- Debian's kamailio with a minimal configuration, run with -x tlsf, -x qm and -x fm, sent
  K SIP OPTIONS over UDP on loopback: the oracle is bpftrace counting the same functions'
  outermost calls on a private copy of the binary (bpftrace does not filter uprobes by pid:
  a copy no other process runs keeps it to this one), and the replies the server sent.
"""
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

from memtest import (BPFTRACE, MEMSTUDY, bpftrace_counts, bpftrace_outermost, free_port,
                     main, memstudy, memstudy_json, need_bpf, target)

KAMAILIO = "/usr/sbin/kamailio"
APR = target("apr_pools")


def work_phase(rep):
    """The counts of the program's own work, between its "work" and "done" markers."""
    for ph in rep["phases"]:
        if ph["name"] == "work":
            return ph["functions"]
    raise AssertionError("no 'work' phase: %s" % [p["name"] for p in rep["phases"]])


class AprPools(unittest.TestCase):
    ROUNDS, N, KEEP = 10, 100, 7

    def setUp(self):
        need_bpf(self)
        if not os.path.exists(APR):
            self.fail("%s was not built: build.sh installs libapr1-dev" % APR)

    def trace(self, extra=()):
        rep, p = memstudy_json(["run"] + list(extra) + ["--", APR, str(self.ROUNDS),
                                                        str(self.N), str(self.KEEP)], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(rep["lost_events"], 0)
        return rep, json.loads(p.stdout)

    def check_counts(self, rep, truth):
        work = work_phase(rep)
        for fn in ("apr_palloc", "apr_pool_create_ex", "apr_pool_clear", "apr_pool_destroy"):
            self.assertEqual(work[fn]["calls"], truth[fn], fn)
        self.assertEqual(work["apr_palloc"]["failed"], 0)

    def test_builtin_spec(self):
        rep, truth = self.trace()
        self.check_counts(rep, truth)
        fams = {a["name"]: a for a in rep["allocators"]}
        self.assertIn("apr-pools", fams)
        self.assertTrue(fams["apr-pools"]["builtin_spec"])
        self.assertIn("libapr-1", fams["apr-pools"]["file"])
        self.assertEqual(fams["apr-pools"]["functions"],
                         ["apr_palloc", "apr_pcalloc", "apr_pool_create_ex", "apr_pool_clear",
                          "apr_pool_destroy"])
        # glibc's own internal steps may be (munmap_chunk, new_heap); APR's never
        self.assertEqual([n for n in rep["overhead"]["single_stepped"] if "apr" in n], [])

    def test_per_allocation_pools_free_their_blocks(self):
        rep, truth = self.trace(["--per-allocation"])
        pa = rep["per_allocation"]
        # every block of the rounds' pools ends with its pool: N * 2 a round
        self.assertEqual(pa["pool_frees"], self.ROUNDS * self.N * 2)
        self.assertEqual(pa["pool_clears"], truth["apr_pool_clear"])
        # children destroyed by their parent's clear or destroy are seen too
        self.assertEqual(pa["pool_destroys"], truth["pools_destroyed"])
        main_sites = [s for s in pa["sites"] if s["functions"] == ["apr_palloc"]
                      and s["title"].startswith("main")]
        live = sum(s["allocations"] - s["frees"] for s in main_sites)
        self.assertEqual(live, truth["live"])
        self.assertEqual(sum(s["allocations"] for s in main_sites), truth["apr_palloc"])

    def test_command_line_spec(self):
        rep, truth = self.trace(["--no-builtin-allocators",
                                 "--alloc", "libapr-1:apr_palloc:size=2,pool=1",
                                 "--pool-create", "apr_pool_create_ex",
                                 "--pool-clear", "apr_pool_clear:pool=1",
                                 "--pool-destroy", "apr_pool_destroy:pool=1"])
        self.check_counts(rep, truth)
        self.assertEqual([a["name"] for a in rep["allocators"] if a.get("custom")], ["custom"])
        self.assertNotIn("apr_pcalloc", rep["functions"])

    def test_spec_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".spec") as f:
            f.write("# APR's pools, as a user would write them\nname: mypools\n"
                    "alloc apr_palloc:size=2,pool=1\n\n--pool-destroy apr_pool_destroy:pool=1\n"
                    "pool-clear apr_pool_clear:pool=1   # children go through destroy\n"
                    "pool-create apr_pool_create_ex\n")
            f.flush()
            rep, truth = self.trace(["--no-builtin-allocators", "--allocator-spec", f.name,
                                     "--per-allocation"])
        self.check_counts(rep, truth)
        self.assertEqual([a["name"] for a in rep["allocators"] if a.get("custom")],
                         ["mypools"])
        self.assertEqual(rep["per_allocation"]["pool_frees"], self.ROUNDS * self.N * 2)

    def follow_through_shell(self, extra):
        """The APR program run by a shell that execs it in a child, under --follow."""
        cmd = "%s %d %d %d; true" % (APR, self.ROUNDS, self.N, self.KEEP)
        rep, p = memstudy_json(["run", "--follow"] + extra + ["--", "sh", "-c", cmd], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(rep["lost_events"], 0)
        apr = [x for x in rep["processes"] if x["exe"] == os.path.realpath(APR)]
        self.assertEqual(len(apr), 1, [x["exe"] for x in rep["processes"]])
        return rep, json.loads(p.stdout), apr[0], p.stderr

    def test_follow_exec_builtin_spec(self):
        # the shell has no APR: the exec'd program's pool functions get the tree's slots
        rep, truth, apr, _ = self.follow_through_shell([])
        self.check_counts(rep, truth)
        for fn in ("apr_palloc", "apr_pool_clear", "apr_pool_destroy"):
            self.assertTrue(rep["functions"][fn]["traced"], fn)
            self.assertEqual(apr["functions"][fn]["calls"], rep["functions"][fn]["calls"], fn)
        self.assertEqual(rep["follow"]["functions_without_slot"], 0)

    def test_follow_exec_command_line_spec(self):
        # --alloc for a module only the exec'd program loads: no error at the start, its
        # calls counted; a spec no process had is named at the end
        rep, truth, apr, err = self.follow_through_shell(
            ["--no-builtin-allocators", "--alloc", "libapr-1:apr_palloc:size=2,pool=1",
             "--pool-create", "apr_pool_create_ex", "--pool-clear", "apr_pool_clear:pool=1",
             "--pool-destroy", "apr_pool_destroy:pool=1", "--alloc", "nolib:no_such_alloc:size=1"])
        self.check_counts(rep, truth)
        self.assertNotIn("apr_pcalloc", rep["functions"])
        self.assertIn("no_such_alloc, of the allocator specs given: no traced process had it", err)
        self.assertEqual(apr["functions"]["apr_palloc"]["calls"], rep["functions"]["apr_palloc"]["calls"])

    def test_dry_run_shows_the_choice(self):
        p = memstudy(["run", "--dry-run", "--", APR])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("custom allocator apr-pools (built-in spec", p.stdout)
        self.assertIn("alloc apr_palloc:size=2,pool=1", p.stdout)
        self.assertIn("pool-destroy apr_pool_destroy:pool=1", p.stdout)

    def test_bad_specs_say_what_is_wrong(self):
        p = memstudy(["run", "--dry-run", "--alloc", "no_such_alloc:size=1", "--", APR])
        self.assertEqual(p.returncode, 1)
        self.assertIn("no function no_such_alloc in", p.stderr)
        self.assertIn("nm -D", p.stderr)
        p = memstudy(["run", "--dry-run", "--alloc", "nolib:apr_palloc:size=2", "--", APR])
        self.assertEqual(p.returncode, 1)
        self.assertIn("loads no module 'nolib'", p.stderr)
        p = memstudy(["run", "--dry-run", "--alloc", "apr_palloc:size=7", "--", APR])
        self.assertEqual(p.returncode, 2)
        self.assertIn("size=7 is past the arguments memstudy reads", p.stderr)
        p = memstudy(["run", "--dry-run", "--free", "apr_palloc:size=2", "--", APR])
        self.assertEqual(p.returncode, 2)
        self.assertIn("free takes the keys ptr", p.stderr)
        p = memstudy(["run", "--dry-run", "--pool-clear", "apr_pool_clear", "--", APR])
        self.assertEqual(p.returncode, 2)
        self.assertIn("needs pool=N", p.stderr)


class OwnPool(unittest.TestCase):
    """A program's own pool allocator, named on the command line and checked against its
    DWARF (tests/targets/custom/mypool.c): blocks freed one by one and by the pool's
    destroy."""
    SPEC = ["--alloc", "mp_alloc:size=2,pool=1", "--free", "mp_free:ptr=2",
            "--pool-destroy", "mp_destroy:pool=1"]

    def setUp(self):
        need_bpf(self)

    def test_counts_and_blocks(self):
        rep, p = memstudy_json(["run", "--per-allocation"] + self.SPEC +
                               ["--", target("mypool"), "10", "100"], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        truth = json.loads(p.stdout)
        for fn in ("mp_alloc", "mp_free", "mp_destroy"):
            self.assertEqual(rep["functions"][fn]["calls"], truth[fn], fn)
        self.assertEqual(rep["functions"]["mp_alloc"]["bytes"], 48 * truth["mp_alloc"])
        pa = rep["per_allocation"]
        self.assertEqual(pa["pool_destroys"], truth["mp_destroy"])
        # half freed one by one, the other half by their pool's destroy
        self.assertEqual(pa["pool_frees"], truth["mp_alloc"] - truth["mp_free"])
        sites = [s for s in pa["sites"] if s["functions"] == ["mp_alloc"]]
        self.assertEqual(sum(s["allocations"] - s["frees"] for s in sites), 0)
        # the pools' own memory, freed inside mp_destroy: not left live
        mine = [s for s in pa["sites"] if s["functions"] == ["malloc"]
                and s["title"].startswith("mp_create")]
        self.assertEqual(sum(s["allocations"] for s in mine), 2 * truth["mp_destroy"])
        self.assertEqual(sum(s["allocations"] - s["frees"] for s in mine), 0)

    def test_arguments_checked_against_dwarf(self):
        p = memstudy(["run", "--dry-run", "--alloc", "mp_alloc:size=3", "--",
                      target("mypool")])
        self.assertEqual(p.returncode, 1)
        self.assertIn("size=3, but mp_alloc takes 2 arguments (its DWARF", p.stderr)
        p = memstudy(["run", "--dry-run"] + self.SPEC + ["--", target("mypool")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("alloc mp_alloc:size=2,pool=1 (2 arguments, by its DWARF)", p.stdout)
        self.assertIn("pool-destroy mp_destroy:pool=1 (1 argument, by its DWARF)", p.stdout)


class JePrefixed(unittest.TestCase):
    """A je_-prefixed jemalloc beside glibc's malloc: a stand-in program (Debian has no
    prefixed build) whose je_ functions allocate through glibc's; one call is counted
    once, as the je_ function."""

    def test_both_families_counted_apart(self):
        need_bpf(self)
        exe = target("je_prefixed")
        rep, p = memstudy_json(["run", "--", exe, "1000"], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        truth = json.loads(p.stdout)
        f = rep["functions"]
        for fn in ("je_malloc", "je_calloc", "je_realloc", "je_free", "je_sdallocx"):
            self.assertEqual(f[fn]["calls"], truth[fn], fn)
        self.assertEqual(f["je_calloc"]["bytes"], 100 * truth["je_calloc"])
        # glibc's: the program's own, and glibc's for itself (stdio)
        self.assertEqual(f["malloc"]["calls"] - f["malloc"]["internal_calls"]["calls"],
                         truth["malloc"])
        self.assertEqual(f["free"]["calls"] - f["free"]["internal_calls"]["calls"],
                         truth["free"])
        self.assertEqual(f["calloc"]["calls"] - f["calloc"]["internal_calls"]["calls"], 0)
        names = [a["name"] for a in rep["allocators"]]
        self.assertEqual(names[0], "glibc")
        self.assertIn("jemalloc-je", names)


def sip_options(sock, port, i):
    me = sock.getsockname()[1]
    msg = ("OPTIONS sip:t@127.0.0.1:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%d\r\n"
           "From: <sip:memstudy@127.0.0.1>;tag=%d\r\nTo: <sip:t@127.0.0.1>\r\n"
           "Call-ID: memstudy-%d\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
           "Content-Length: 0\r\n\r\n" % (port, me, i, i, i))
    sock.sendto(msg.encode(), ("127.0.0.1", port))


class Kamailio(unittest.TestCase):
    K = 300
    FAMILIES = {"tlsf": "tlsf", "qm": "q_malloc", "fm": "f_malloc"}

    def setUp(self):
        need_bpf(self)
        for exe in (KAMAILIO, BPFTRACE):
            if not os.path.exists(exe):
                self.fail("%s is missing: build.sh installs kamailio and bpftrace" % exe)
        self.dir = tempfile.mkdtemp(prefix="memstudy-kamailio-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        # a private copy: the only file bpftrace's unfiltered uprobes land in
        self.exe = os.path.join(self.dir, "kamailio")
        shutil.copy(KAMAILIO, self.exe)
        self.port = free_port(socket.SOCK_DGRAM)
        self.cfg = self.config(fork=False)

    def config(self, fork):
        cfg = os.path.join(self.dir, "kamailio-%s.cfg" % ("fork" if fork else "nofork"))
        with open(cfg, "w") as f:
            f.write('#!KAMAILIO\ndebug=0\nlog_stderror=yes\n%s\n'
                    'listen=udp:127.0.0.1:%d\n'
                    'mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"\n'
                    'loadmodule "sl.so"\n'
                    'request_route {\n\tsl_send_reply("200", "OK");\n}\n'
                    % ("fork=yes\nchildren=2" if fork else "fork=no", self.port))
        return cfg

    def bpftrace_oracle(self, prefix):
        """bpftrace counting the outermost calls of PREFIX_malloc/free/realloc in the copy."""
        return bpftrace_outermost(self, self.exe,
                                  ["%s_%s" % (prefix, f) for f in ("malloc", "free", "realloc")])

    def serve(self, mode, extra=(), during=None, cfg=None, detach="-D"):
        """kamailio -x MODE under memstudy run, sent K OPTIONS once it answers, then
        DURING(pid) if given; stopped with SIGTERM. Returns (report, 200 OK replies)."""
        js = os.path.join(self.dir, "report.json")
        m = subprocess.Popen([MEMSTUDY, "run", "--json", js, "-o", "/dev/null"] + list(extra)
                             + ["--", self.exe, "-f", cfg or self.cfg, detach, "-E", "-x", mode,
                                "-Y", self.dir, "-m", "32", "-M", "8"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: m.poll() is None and m.kill())
        ok = 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.settimeout(0.2)
            deadline = time.monotonic() + 60
            while True:  # until the server answers: then it is up, and traced
                sip_options(s, self.port, -1)
                try:
                    if s.recv(4096).startswith(b"SIP/2.0 200"):
                        break
                except socket.timeout:
                    pass
                if m.poll() is not None or time.monotonic() > deadline:
                    self.fail("kamailio did not answer: " + m.stderr.read())
            s.settimeout(10)
            for i in range(self.K):
                sip_options(s, self.port, i)
                ok += s.recv(4096).startswith(b"SIP/2.0 200")
        pids = subprocess.run(["pgrep", "-P", str(m.pid)], capture_output=True,
                              text=True).stdout.split()  # kamailio: memstudy run's child
        if during:
            during(int(pids[0]))
        for pid in pids:
            os.kill(int(pid), signal.SIGTERM)
        _, err = m.communicate(timeout=120)
        self.assertEqual(m.returncode, 0, err)
        with open(js) as f:
            return json.load(f), ok

    def check_mode(self, mode):
        prefix = mode
        bt = self.bpftrace_oracle(prefix)
        rep, ok = self.serve(mode)
        truth = bpftrace_counts(bt)
        self.assertEqual(ok, self.K)
        self.assertEqual(rep["lost_events"], 0)
        print("kamailio -x %s: %d OPTIONS answered; memstudy %s; bpftrace %s" % (
            mode, ok, {f: rep["functions"][f]["calls"] for f in rep["functions"]
                       if f.startswith(prefix + "_")}, truth), file=sys.stderr)
        for f in ("malloc", "free", "realloc"):
            fn = "%s_%s" % (prefix, f)
            self.assertEqual(rep["functions"][fn]["calls"], truth.get(fn, 0), fn)
        # requests make allocations: K of them make at least K
        self.assertGreaterEqual(rep["functions"][prefix + "_malloc"]["calls"], self.K)
        fams = [a["name"] for a in rep["allocators"]]
        self.assertIn("glibc", fams)  # several allocators at once: glibc's malloc too
        self.assertIn(self.FAMILIES[mode], fams)
        self.assertGreater(rep["functions"]["malloc"]["calls"], 0)
        self.assertEqual([n for n in rep["overhead"]["single_stepped"]
                          if n.startswith(prefix + "_")], [])

    def test_tlsf(self):
        self.check_mode("tlsf")

    def test_q_malloc(self):
        self.check_mode("qm")

    def test_f_malloc(self):
        self.check_mode("fm")

    def test_forking_server_every_worker_followed(self):
        """kamailio as it runs by default: a main process forking its UDP workers and
        timers, each allocating from the pools set up before the fork; --follow traces
        them all, and the tree's totals agree with bpftrace's."""
        bt = self.bpftrace_oracle("tlsf")
        rep, ok = self.serve("tlsf", ["--follow"], cfg=self.config(fork=True), detach="-DD")
        truth = bpftrace_counts(bt)
        self.assertEqual(ok, self.K)
        self.assertEqual(rep["lost_events"], 0)
        procs = rep["processes"]
        self.assertGreaterEqual(len(procs), 4, [p["comm"] for p in procs])  # main + workers
        for f in ("malloc", "free", "realloc"):
            fn = "tlsf_" + f
            self.assertEqual(rep["functions"][fn]["calls"], truth.get(fn, 0), fn)
        # the workers answered: their allocations are theirs
        workers = [p for p in procs[1:] if p["functions"].get("tlsf_malloc")]
        self.assertGreaterEqual(len(workers), 2)
        self.assertEqual(sum(p["functions"].get("tlsf_malloc", {}).get("calls", 0)
                             for p in procs), rep["functions"]["tlsf_malloc"]["calls"])
        print("kamailio forking: %d processes; tlsf_malloc %d (bpftrace %d)" % (
            len(procs), rep["functions"]["tlsf_malloc"]["calls"], truth.get("tlsf_malloc", 0)),
            file=sys.stderr)

    def test_maps_names_the_pools(self):
        """memstudy maps, untraced: kamailio's pkg pool (one malloc of -M MiB) and shm pool
        (a shared mapping of -m MiB) found from its _pkg_root and _shm_root."""
        seen = {}

        def maps(pid):
            p = memstudy(["maps", str(pid), "--json", "-"])
            self.assertEqual(p.returncode, 0, p.stderr)
            for m in json.loads(p.stdout)["mappings"]:
                for pool in ("pkg", "shm"):
                    if "kamailio's %s pool" % pool in (m["annotation"] or ""):
                        seen[pool] = m
        self.serve("qm", during=maps)
        self.assertIn("q_malloc manager, 8.0 MiB", seen["pkg"]["annotation"])
        self.assertEqual(seen["pkg"]["label"], "mmap-chunk")
        self.assertIn("q_malloc manager, 32.0 MiB", seen["shm"]["annotation"])
        self.assertEqual(seen["shm"]["kbytes"], 32 << 10)

    def test_per_allocation_faults_in_the_pkg_pool(self):
        rep, ok = self.serve("tlsf", ["--per-allocation"])
        self.assertEqual(ok, self.K)
        pa = rep["per_allocation"]
        self.assertTrue(pa["complete"])
        tlsf = [s for s in pa["sites"] if s["functions"] == ["tlsf_malloc"]]
        # kamailio's pkg pool is one malloc; the tlsf blocks inside it own their faults
        self.assertGreater(sum(s["page_faults"] for s in tlsf), 0)
        pool = [s for s in pa["sites"] if s["functions"] == ["malloc"]
                and s["title"].startswith("tlsf_malloc_init_pkg_manager")]
        self.assertEqual(len(pool), 1, [s["title"] for s in pa["sites"]][:20])
        self.assertEqual(pool[0]["bytes"], 8 << 20)
        # every block has its site (sites reading the same merge: realloc's with malloc's)
        ours = [s for s in pa["sites"] if set(s["functions"]) <= {"tlsf_malloc", "tlsf_realloc"}]
        self.assertEqual(sum(s["allocations"] for s in ours),
                         rep["functions"]["tlsf_malloc"]["calls"]
                         + rep["functions"]["tlsf_realloc"]["calls"])


if __name__ == "__main__":
    main()
