"""C++'s operators traced wherever they are defined (issue 16, items 1-2): libstdc++'s, and
tcmalloc's, mimalloc's and jemalloc's when they replace them, linked or LD_PRELOADed; and
jemalloc's and mimalloc's own APIs (tests/targets/api/).
tests/targets/cxx_ops.cpp makes known numbers of calls: 1000 new + delete, 500 new[] +
delete[], 200 nothrow new + delete, 100 aligned new + delete.

Where two operators are one function (tcmalloc's new and new[]; mimalloc's and tcmalloc's
delete is their free) one probe counts both, under the first name: the totals are exact,
and the JSON says where each variant is counted. Calls the allocator makes itself (tcmalloc
registering its extension at start-up) are its internal_calls, not the program's."""
import os
import signal
import subprocess
import tempfile
import unittest

from memtest import MEMSTUDY, memstudy_json, need_bpf, target, main

LIBDIR = "/usr/lib/x86_64-linux-gnu"
ALLOCATORS = {"tcmalloc": "libtcmalloc_minimal.so.4", "mimalloc": "libmimalloc.so.2",
              "jemalloc": "libjemalloc.so.2"}
NEWS, DELETES = 1000 + 500 + 200 + 100, 1000 + 500 + 200 + 100


def wait_attached(m):
    """Until memstudy --pid says its probes are in place (its first line on stderr)."""
    line = m.stderr.readline()
    if "tracing PID" not in line:
        raise AssertionError("memstudy did not attach: " + line + m.stderr.read())


def program_calls(fn):
    """A function's calls made by the program: all of them but the allocator's own."""
    return fn["calls"] - fn.get("internal_calls", {}).get("calls", 0)


class Cxx(unittest.TestCase):
    def setUp(self):
        need_bpf(self)

    def trace_exe(self, exe, env=None):
        if not os.path.exists(exe):
            self.fail("%s was not built: build.sh installs the allocator it needs" % exe)
        rep, p = memstudy_json(["run", "--", exe], self, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(rep["lost_events"], 0)
        return rep, p

    def trace(self, exe, env=None):
        rep, p = self.trace_exe(exe, env)
        self.assertIn("new 1000", p.stdout)
        return rep

    def check_totals(self, rep, name):
        f = rep["functions"]
        news = program_calls(f["operator new"]) + program_calls(f["operator new[]"])
        deletes = sum(program_calls(f[n]) for n in
                      ("operator delete", "operator delete[]", "free"))
        self.assertEqual(news, NEWS, name)
        self.assertEqual(deletes, DELETES, name)
        # new -> malloc inside it is one call, counted as new
        self.assertLessEqual(program_calls(f["malloc"]), 2, name)
        names = [a["name"] for a in rep["allocators"]]
        self.assertIn(name, names)
        # what the kernel single-steps is named in the JSON, each once
        stepped = rep["overhead"]["single_stepped"]
        self.assertEqual(len(stepped), len(set(stepped)))

    def test_libstdcxx(self):
        rep = self.trace(target("cxx_ops"))
        self.check_totals(rep, "libstdc++")
        f = rep["functions"]
        self.assertEqual(rep["allocators"][0]["name"], "glibc")
        self.assertTrue(rep["target"]["cxx"].endswith("libstdc++.so.6"))
        # each operator its own function, exact, the variants counted inside
        self.assertEqual(f["operator new"]["calls"], 1300)
        self.assertEqual(f["operator new[]"]["calls"], 500)
        self.assertEqual(f["operator delete"]["calls"], 1300)
        self.assertEqual(f["operator delete[]"]["calls"], 500)
        v = f["operator new"]["variants"]
        self.assertEqual((v["new(size_t)"], v["new(size_t, nothrow_t)"],
                          v["new(size_t, align_val_t)"]), (1000, 200, 100))
        self.assertEqual(f["operator new[]"]["variants"]["new[](size_t)"], 500)
        self.assertEqual(sum(f["operator delete"]["variants"].values()), 1300)
        self.assertEqual(sum(f["operator delete[]"]["variants"].values()), 500)
        self.assertEqual(f["operator new"]["bytes"], 1000 * 4 + 200 * 4 + 100 * 64)
        self.assertEqual(f["free"]["calls"], 0)  # delete -> free is one call: delete
        # the entry-only news need no return address: placed past 'sub rsp', none stepped
        self.assertEqual([n for n in rep["overhead"]["single_stepped"] if "new" in n
                          and n != "new_heap"], [])

    def test_a_failing_new_still_throws(self):
        # libstdc++'s throwing new has no return probe: the kernel's return trampoline has
        # no unwind information, and a bad_alloc thrown through it would terminate the
        # program; its malloc stands for it
        rep, p = memstudy_json(["run", "--", target("cxx_ops"), "throw"], self)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("caught bad_alloc", p.stdout)
        self.assertIn("nothrow new: NULL", p.stdout)
        f = rep["functions"]
        self.assertEqual(f["operator new[]"]["calls"], 2)
        self.assertGreaterEqual(f["operator new[]"]["failed"], 1)  # its malloc returned NULL

    def test_linked_allocators(self):
        for name in ALLOCATORS:
            with self.subTest(allocator=name):
                rep = self.trace(target("cxx_ops_" + name))
                self.check_totals(rep, name)
                self.assertEqual(rep["target"]["cxx"], rep["target"]["allocator"])
                self.assertIn(ALLOCATORS[name], rep["target"]["allocator"])

    def test_preloaded_allocators(self):
        for name, lib in ALLOCATORS.items():
            with self.subTest(allocator=name):
                # the target inherits memstudy's environment, so memstudy runs on the
                # preloaded allocator too; under the sanitizer build LeakSanitizer then
                # reports tcmalloc's own start-up allocation, which is not memstudy's
                opts = os.environ.get("ASAN_OPTIONS", "")
                env = dict(os.environ, LD_PRELOAD=os.path.join(LIBDIR, lib),
                           ASAN_OPTIONS=(opts + ":" if opts else "") + "detect_leaks=0")
                rep = self.trace(target("cxx_ops"), env=env)
                self.check_totals(rep, name)
                self.assertIn(lib, rep["target"]["cxx"])

    def test_jemalloc_api(self):
        # mallocx, rallocx, xallocx, sdallocx, dallocx: each counted in the malloc-family
        # function it is closest to, as a variant of its own
        rep = self.trace_api("jemalloc")
        f = rep["functions"]
        self.assertEqual(f["malloc"]["variants"]["mallocx"], 500)
        # + the 2 libc makes itself (stdio): the program's, under another allocator than glibc
        self.assertEqual(program_calls(f["malloc"]) - 500, 100 + 2)
        self.assertEqual(f["realloc"]["variants"], {"rallocx": 200, "xallocx": 200})
        self.assertEqual(f["realloc"]["calls"], 400)
        self.assertEqual(f["free"]["variants"], {"sdallocx": 300, "dallocx": 200})
        self.assertEqual(program_calls(f["free"]), 600)

    def test_mimalloc_api(self):
        rep = self.trace_api("mimalloc")
        f = rep["functions"]
        self.assertEqual(f["calloc"]["variants"]["mi_zalloc"], 300)
        self.assertEqual(f["calloc"]["calls"], 300)
        self.assertEqual(f["malloc"]["variants"]["mi_mallocn"], 200)
        self.assertEqual(f["realloc"]["variants"]["mi_reallocf"], 200)
        self.assertEqual(f["realloc"]["calls"], 200)
        # mi_free is its free, mi_free_size its sized operator delete: one probe each
        self.assertEqual(f["free"]["variants_counted_elsewhere"]["mi_free_size"],
                         "delete(void*, size_t)")
        self.assertEqual(program_calls(f["free"]) + program_calls(f["operator delete"]), 600)

    def trace_api(self, name):
        rep, _ = self.trace_exe(target("api_" + name))
        self.assertIn(ALLOCATORS[name], rep["target"]["allocator"])
        return rep

    def test_maps_names_another_allocators_memory(self):
        # --per-allocation --maps on a live jemalloc program: the anonymous mappings
        # jemalloc made inside its calls (its extents) are named as its memory
        env = dict(os.environ, LD_PRELOAD=os.path.join(LIBDIR, ALLOCATORS["jemalloc"]))
        w = subprocess.Popen([target("waiter"), "20000"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env)
        try:
            self.assertTrue(w.stdout.readline().startswith("ready"))
            with tempfile.NamedTemporaryFile(mode="r", suffix=".txt") as out:
                m = subprocess.Popen([MEMSTUDY, "--pid", str(w.pid), "--per-allocation",
                                      "--maps", "--no-histograms", "-o", out.name],
                                     stderr=subprocess.PIPE, text=True)
                wait_attached(m)
                w.stdin.write("\n")  # 20000 blocks of 4 KiB, then freed
                w.stdin.flush()
                self.assertTrue(w.stdout.readline().startswith("done"))
                m.send_signal(signal.SIGINT)
                err = m.communicate(timeout=60)[1]
                self.assertEqual(m.returncode, 0, err)
                text = out.read()
        finally:
            w.stdin.write("\n")
            w.stdin.flush()
            w.wait(timeout=30)
        mine = [line for line in text.splitlines() if "<- jemalloc's memory:" in line]
        self.assertTrue(mine, text[-3000:])
        full = [int(line.split()[1]) for line in mine if "mapped inside its calls" in line
                and "KiB of it" not in line]
        # the 80 MB the waiter held were mapped by jemalloc while traced
        self.assertGreaterEqual(sum(full), 60000, mine)

    def test_aliases_say_where_they_are_counted(self):
        rep = self.trace(target("cxx_ops_tcmalloc"))
        f = rep["functions"]
        # tcmalloc's new[] is its new: counted there, and the JSON says so
        self.assertEqual(f["operator new[]"]["calls"], 0)
        self.assertEqual(f["operator new[]"]["variants_counted_elsewhere"]["new[](size_t)"],
                         "new(size_t)")
        self.assertEqual(f["operator delete"]["variants_counted_elsewhere"]["delete(void*)"],
                         "free")


if __name__ == "__main__":
    main()
