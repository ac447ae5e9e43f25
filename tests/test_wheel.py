"""A wheel built from the repo carries templates/ and csrc/ and works installed outside the repo."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

SCRIPT = """
import numpy as np, graphc as gc, sys
assert gc.__file__.startswith(sys.argv[1]), gc.__file__
x = gc.fmatrix("x"); w = gc.shared(np.ones((3, 2), "float32"), name="w")
f = gc.function([x], gc.softmax(x @ w).sum(axis=1))
np.testing.assert_allclose(f(np.ones((4, 3), "float32")), np.ones(4), rtol=1e-6)
print("ok", f.program.compiled)
"""


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_repo(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    wheel = next(wheels.glob("graphc-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "graphc/templates/module.c.j2" in names
    assert "graphc/csrc/graphc_abi.h" in names
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "GRAPHC_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(site)], cwd=workdir, capture_output=True, text=True,
                         env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["ok", "True"]
