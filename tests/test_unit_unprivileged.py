"""The unit tier needs neither root nor BPF: run every unit binary as nobody, from a copy
anyone may read (a fresh clone may sit in a private directory)."""
import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from memtest import BUILD, main

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
HERE = os.path.dirname(os.path.abspath(__file__))


class UnitAsNobody(unittest.TestCase):
    def test_every_unit_binary_passes_unprivileged(self):
        if os.geteuid() != 0:
            self.skipTest("becoming nobody needs root; as a user, run 'ctest -L unit'")
        binaries = sorted(glob.glob(os.path.join(BUILD, "unit", "unit-*")))
        self.assertGreaterEqual(len(binaries), 8, binaries)
        d = tempfile.mkdtemp(prefix="memstudy-unit.")
        try:
            os.chmod(d, 0o755)
            shutil.copytree(os.path.join(HERE, "unit", "data"), os.path.join(d, "data"))
            for b in binaries:
                shutil.copy(b, d)
            for root, dirs, files in os.walk(d):
                for n in dirs + files:
                    os.chmod(os.path.join(root, n), 0o755)
            for b in binaries:
                with self.subTest(binary=os.path.basename(b)):
                    p = subprocess.run(NOBODY + [os.path.join(d, os.path.basename(b))],
                                       capture_output=True, text=True, timeout=120,
                                       env={"MEMSTUDY_UNIT_DATA": d, "PATH": os.environ["PATH"]})
                    self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                    self.assertNotIn("FAIL", p.stdout)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
