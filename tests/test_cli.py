"""The ``graphc`` command, driven as a user drives it: ``python -m graphc ...`` in a subprocess."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from graphc.toolchain.nvcc import find_nvcc

ROOT = Path(__file__).resolve().parent.parent
MODELS = '''
import numpy as np
import graphc as gc


def affine(seed=0):
    x = gc.matrix("x", dtype="float32")
    W = gc.shared(np.random.default_rng(seed).standard_normal((3, 2)).astype("float32"), name="W")
    b = gc.shared(np.zeros(2, "float32"), name="b")
    y = gc.tanh(x @ W + b)
    y.name = "y"
    return gc.function([x], y)


def affine_retrained():
    return affine(seed=1)


def step():
    x = gc.vector("x", dtype="float64")
    b = gc.shared(np.zeros(3), name="b")
    return [x], gc.log(1 + gc.exp(x + b)), [(b, b + x)]


def boom():
    raise ValueError("boom in the model")


def not_a_function():
    return 42


number = 3
'''


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "models.py"
    path.write_text(MODELS)
    return path


def graphc(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the command from any working directory with the graphc under test (not whichever is installed)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **(env or {})}
    return subprocess.run([sys.executable, "-m", "graphc", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


def assert_error(proc: subprocess.CompletedProcess, code: int, *words: str) -> None:
    """Exit status ``code``, one error line on stderr naming ``words``, no traceback."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, proc.stderr
    for word in words:
        assert word in errors[0], proc.stderr


# --- behaviour of a command ----------------------------------------------------------------------------------------
def test_help_everywhere():
    for args in ([], ["show"], ["compile"], ["cache"], ["cache", "prune"]):
        proc = graphc(*args, "--help")
        assert proc.returncode == 0 and proc.stdout.startswith("usage: graphc"), (args, proc.stderr)
    assert graphc("--version").stdout.strip() == f"graphc {gc.__version__}"


def test_usage_errors_exit_2():
    for args in ([], ["compile", "m.py:f"], ["cache", "prune"]):
        proc = graphc(*args)
        assert proc.returncode == 2 and "usage: graphc" in proc.stderr and "Traceback" not in proc.stderr, args


def test_console_script():
    script = Path(sys.executable).parent / "graphc"
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("graphc ")


@pytest.mark.parametrize("target, words", [
    ("nowhere.py:build", ["no such model file", "nowhere.py"]),
    ("MODELS:missing", ["no function 'missing'"]),
    ("MODELS:number", ["is not a function (it is int)"]),
    ("MODELS:not_a_function", ["returned int"]),
    ("no_such_package.module:build", ["no module named 'no_such_package.module'"]),
    ("MODELS", ["is not of the form"]),
])
def test_bad_targets(models, target, words):
    assert_error(graphc("show", target.replace("MODELS", str(models))), 2, *words)


def test_model_that_raises(models):
    proc = graphc("show", f"{models}:boom")
    assert_error(proc, 1, "raised ValueError: boom in the model", "--verbose")
    verbose = graphc("show", f"{models}:boom", "--verbose")
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr and "raise ValueError" in verbose.stderr


# --- graphc show ---------------------------------------------------------------------------------------------------
def test_show_text_and_dot(models):
    text = graphc("show", "examples/model_digits.py:build")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("ArgReduce{argmax") and "'probabilities'" in text.stdout and "W1 [id" in text.stdout
    dot = graphc("show", f"{models}:step", "--format", "dot")
    assert dot.returncode == 0 and dot.stdout.startswith("digraph graphc {") and "update of b" in dot.stdout


def test_show_stages(models):
    raw = graphc("show", f"{models}:step", "--stage", "raw")
    optimized = graphc("show", f"{models}:step")
    assert raw.returncode == optimized.returncode == 0
    assert "Elemwise{log}" in raw.stdout and "(update of b)" in raw.stdout
    assert raw.stdout != optimized.stdout and "Elemwise{log}" not in optimized.stdout  # log(1 + exp(x)): softplus


def test_show_report(models):
    proc = graphc("show", f"{models}:step", "--report")
    assert proc.returncode == 0 and proc.stdout.startswith("rewrites (") and "stabilize" in proc.stdout
    assert_error(graphc("show", f"{models}:step", "--report", "--format", "dot"), 2, "leave out --format")


def test_show_memory(models):
    proc = graphc("show", "examples/model_digits.py:build", "--memory", "128x64")
    assert proc.returncode == 0 and proc.stdout.startswith("memory plan for input shapes (128, 64)"), proc.stderr
    assert "bytes allocated per call" in proc.stdout
    assert_error(graphc("show", f"{models}:affine", "--memory", "4x3,2"), 2, "gives 2 shape(s)", "1 input(s) (x)")
    assert_error(graphc("show", f"{models}:affine", "--memory", "4y3"), 2, "'4y3' (input x)")
    assert_error(graphc("show", f"{models}:affine", "--memory", "4"), 2, "input x has type float32 (?, ?)")
    assert_error(graphc("show", f"{models}:affine", "--memory", "4x5"), 2, "--memory 4x5: ")


def test_show_picture_without_dot(models, tmp_path):
    bin_dir = tmp_path / "bin"  # a PATH with python but no Graphviz
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    proc = graphc("show", f"{models}:affine", "--format", "svg", env={"PATH": str(bin_dir)})
    assert_error(proc, 1, "Graphviz", "not on PATH", "apt-get install graphviz", "--format dot")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_show_pictures(tmp_path):
    svg = graphc("show", "examples/model_digits.py:build", "--format", "svg")
    assert svg.returncode == 0 and "<svg" in svg.stdout and "pixels" in svg.stdout
    png = tmp_path / "graph.png"
    proc = graphc("show", "examples/model_digits.py:build", "--format", "png", "-o", str(png))
    assert proc.returncode == 0 and png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


# --- graphc compile ------------------------------------------------------------------------------------------------
TEXT_FILES = ("models.c", "models.h", "models.manifest.json", "graphc_abi.h", "graphc_rt.h")


@pytest.fixture(scope="module")
def compiled(models, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("artifacts") / "models"
    proc = graphc("compile", f"{models}:affine", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def test_compile_writes_artifacts(compiled):
    for name in TEXT_FILES + ("libmodels.so",):
        assert (compiled / name).is_file(), name
    manifest = json.loads((compiled / "models.manifest.json").read_text())
    assert manifest["entry_point"] == "graphc_run" and manifest["baked_weights"] is False
    assert [(e["name"], e["kind"], e["dtype"], e["ndim"]) for e in manifest["inputs"]] == [
        ("x", "input", "float32", 2), ("W", "shared", "float32", 2), ("b", "shared", "float32", 1)]
    assert [(e["name"], e["kind"]) for e in manifest["outputs"]] == [("y", "output")]
    assert manifest["compiler"]["march"] == ("x86-64-v2" if os.uname().machine == "x86_64" else manifest["compiler"]["march"])
    header = (compiled / "models.h").read_text()
    assert "MODELS_INPUT_W = 1," in header and "MODELS_OUTPUT_Y = 0," in header and "shared variable" in header
    for name in TEXT_FILES:  # no paths of this machine, this checkout or this environment
        text = (compiled / name).read_text()
        for path in (str(ROOT), str(compiled.parent), sys.prefix, os.path.expanduser("~")):
            assert path not in text, (name, path)
    dynamic = subprocess.run(["readelf", "-d", str(compiled / "libmodels.so")], capture_output=True, text=True)
    if dynamic.returncode == 0:
        assert "PATH" not in dynamic.stdout and "libscipy_openblas" in dynamic.stdout


def test_compile_is_deterministic(models, compiled, tmp_path):
    """Another directory, another working directory, the target named by a relative path: the same bytes."""
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(models, tmp_path / "elsewhere" / "models.py")
    proc = graphc("compile", "elsewhere/models.py:affine", "--out", "again", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in TEXT_FILES:
        assert (tmp_path / "again" / name).read_bytes() == (compiled / name).read_bytes(), name


def test_check_fresh_and_stale(models, compiled, tmp_path):
    fresh = graphc("compile", f"{models}:affine", "--check", str(compiled))
    assert fresh.returncode == 0 and "up to date" in fresh.stdout, fresh.stderr
    retrained = graphc("compile", f"{models}:affine_retrained", "--check", str(compiled))
    assert retrained.returncode == 0, "weights are arguments: retraining must not make the artifacts stale"

    stale = tmp_path / "stale"
    shutil.copytree(compiled, stale)
    (stale / "models.c").write_text((stale / "models.c").read_text().replace("graphc_run", "graphc_walk", 1))
    (stale / "graphc_rt.h").unlink()
    proc = graphc("compile", f"{models}:affine", "--check", str(stale), "--name", "models")
    assert_error(proc, 1, "stale", f"graphc compile {models}:affine --out {stale} --name models")
    assert "changed  models.c" in proc.stderr and "+1 -1 lines" in proc.stderr
    assert "missing  graphc_rt.h" in proc.stderr and "-int graphc_walk(" in proc.stderr

    assert_error(graphc("compile", f"{models}:affine", "--check", str(tmp_path / "nothing")), 2, "no such directory")


def test_bake_weights(models, tmp_path):
    proc = graphc("compile", f"{models}:affine", "--bake-weights", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "models.manifest.json").read_text())
    assert manifest["baked_weights"] is True and [e["name"] for e in manifest["inputs"]] == ["x"]
    assert_error(graphc("compile", f"{models}:step", "--bake-weights", "--out", str(tmp_path)), 2,
                 "updates shared variables (b)")


def test_compile_options_refused(models, tmp_path):
    assert_error(graphc("compile", f"{models}:affine", "--name", "9lives", "--out", str(tmp_path)), 2,
                 "must be a C identifier")


def test_compiler_failure_names_its_log(models, tmp_path):
    cc = tmp_path / "broken-cc"
    cc.write_text("#!/bin/sh\necho 'broken-cc: error: no thanks' >&2\nexit 1\n")
    cc.chmod(0o755)
    proc = graphc("compile", f"{models}:affine", "--out", str(tmp_path / "out"), env={"CC": str(cc)})
    assert_error(proc, 1, "the compiler failed on models.c", "compiler log: ")
    log = Path(proc.stderr.rsplit("compiler log: ", 1)[1].strip())
    assert "no thanks" in log.read_text()
    log.unlink()


# --- ahead-of-time use ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_aot_example_matches_python(tmp_path):
    proc = subprocess.run(["make", "-s", "-C", str(ROOT / "examples" / "aot"), "run", f"BUILD={tmp_path}",
                           f"PYTHON={sys.executable}"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line[:1].isdigit()]
    data = np.loadtxt(ROOT / "examples" / "aot" / "digits.txt", dtype="float32")
    from graphc.target import load
    digit, probabilities = load(f"{ROOT}/examples/model_digits.py:trained")(data[:, 1:])
    assert [int(r[0]) for r in rows] == data[:, 0].astype(int).tolist()
    assert [int(r[1]) for r in rows] == digit.tolist()
    np.testing.assert_allclose([float(r[2]) for r in rows], probabilities[np.arange(len(digit)), digit], atol=2e-6)
    assert f"accuracy {int(np.sum(digit == data[:, 0]))}/{len(digit)}" in proc.stdout


# --- graphc cache --------------------------------------------------------------------------------------------------
def fake_entry(root: Path, key: str, age_days: float = 0, size: int = 100) -> Path:
    entry = root / key[:2] / key
    entry.mkdir(parents=True)
    (entry / "graph.so").write_bytes(b"x" * size)
    (root / key[:2] / f"{key}.lock").touch()
    when = time.time() - age_days * 86400
    os.utime(entry, (when, when))
    return entry


def test_cache_info_clear_prune(tmp_path):
    root = tmp_path / "cache"
    env = {"GRAPHC_CACHE_DIR": str(root)}
    old, new, busy = (fake_entry(root, c * 64, age, 1000) for c, age in (("a", 10), ("b", 0), ("c", 10)))
    leftover = root / "aa" / f".tmp-{'a' * 16}-x1y2z3"
    leftover.mkdir()
    info = graphc("cache", "info", env=env)
    assert info.returncode == 0 and str(root) in info.stdout and "3 (3.0 kB)" in info.stdout
    assert "leftovers  1 directory" in info.stdout

    with open(busy.parent / f"{busy.name}.lock", "a") as lock:  # another process is building this entry
        fcntl.flock(lock, fcntl.LOCK_EX)
        prune = graphc("cache", "prune", "--older-than", "5", env=env)
        assert prune.returncode == 0 and "removed 1 entry (1.0 kB)" in prune.stdout and "1 being built" in prune.stdout
        assert not old.exists() and new.exists() and busy.exists() and not leftover.exists()
    clear = graphc("cache", "clear", env=env)
    assert clear.returncode == 0 and "removed 2 entries (2.0 kB)" in clear.stdout
    assert not new.exists() and not busy.exists() and not list(root.glob("*/.trash-*"))
    assert_error(graphc("cache", "prune", "--older-than", "-1", env=env), 2, "cannot be negative")


def test_cache_clear_while_a_library_is_in_use(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "cache"))
    x = gc.vector("x", dtype="float64")
    f = gc.function([x], gc.exp(x) * 3.0, backend="c")
    assert graphc("cache", "clear").stdout.startswith("removed 1 entry")
    np.testing.assert_allclose(f(np.arange(3.0)), np.exp(np.arange(3.0)) * 3.0)  # loaded: keeps working
    again = gc.function([x], gc.exp(x) * 3.0, backend="c")
    assert again.program.compiled and again(np.zeros(1)).tolist() == [3.0]


@pytest.mark.skipif(find_nvcc() is None, reason="nvcc not found: CUDA artifacts cannot be built here")
def test_compile_cuda_artifacts(models, tmp_path):
    """--backend cuda writes a .cu source, a header saying inputs and outputs live in device memory, a manifest, and
    a library nvcc built for one SM target (kept to one for speed); --check then finds them current."""
    env = {"GRAPHC_FLAGS": "cuda_arch=90"}
    proc = graphc("compile", f"{models}:step", "--backend", "cuda", "--out", str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "CUDA targets sm_90" in proc.stdout
    for name in ("models.cu", "models.h", "models.manifest.json", "libmodels.so", "graphc_cuda.h"):
        assert (tmp_path / name).is_file(), name
    manifest = json.loads((tmp_path / "models.manifest.json").read_text())
    assert manifest["backend"] == "cuda" and manifest["files"]["source"] == "models.cu"
    assert manifest["compiler"]["cuda_arch"] == "90" and "libcuda" in manifest["runtime_libraries"]
    header = (tmp_path / "models.h").read_text()
    assert "CUDA device memory" in header and "graphc_cuda_free" in header
    check = graphc("compile", f"{models}:step", "--backend", "cuda", "--check", str(tmp_path), env=env)
    assert check.returncode == 0, check.stdout + check.stderr


def test_compile_cuda_without_nvcc_is_a_usage_error(models, tmp_path, monkeypatch, capsys):
    from graphc import cli
    from graphc.toolchain import nvcc
    monkeypatch.setattr(nvcc, "find_nvcc", lambda: None)
    nvcc._nvcc_toolchain.cache_clear()
    try:
        code = cli.main(["compile", f"{models}:affine", "--backend", "cuda", "--out", str(tmp_path)])
    finally:
        nvcc._nvcc_toolchain.cache_clear()
    assert code == 2 and "--backend cuda: nvcc was not found" in capsys.readouterr().err
