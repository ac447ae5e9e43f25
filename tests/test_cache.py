"""The compile cache: warm starts skip the compiler, bad entries are rebuilt, concurrent builds are safe."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from graphc.toolchain.cache import CacheError, LIBRARY, cache_root

SCRIPT = textwrap.dedent("""
    import numpy as np, graphc as gc
    x = gc.dmatrix("x"); w = gc.shared(np.ones((3, 2)), name="w")
    f = gc.function([x], gc.tanh(x @ w).sum())
    assert abs(f(np.ones((4, 3))) - 8 * np.tanh(3)) < 1e-9
    print("compiled" if f.program.compiled else "cached", f.program.key)
""")


def _run(cache: Path) -> tuple[str, str]:
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    status, key = out.stdout.split()
    return status, key


def test_second_process_does_not_run_the_compiler(tmp_path):
    assert _run(tmp_path)[0] == "compiled"
    assert _run(tmp_path)[0] == "cached"


def test_concurrent_processes_build_once_and_leave_one_entry(tmp_path):
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(4)]
    results = [p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1] for r in results]
    statuses = sorted(r[0].split()[0] for r in results)
    assert statuses.count("compiled") == 1
    entries = [p for p in tmp_path.rglob("*") if p.is_dir() and len(p.name) == 64]
    assert len(entries) == 1
    assert not [p for p in tmp_path.rglob(".tmp-*")]


@pytest.mark.parametrize("damage", ["truncate_library", "drop_meta", "drop_library", "edit_source"])
def test_damaged_entry_is_rebuilt(tmp_path, damage):
    _, key = _run(tmp_path)
    entry = tmp_path / key[:2] / key
    if damage == "truncate_library":
        lib = entry / LIBRARY
        lib.write_bytes(lib.read_bytes()[:100])
    elif damage == "drop_meta":
        (entry / "meta.json").unlink()
    elif damage == "drop_library":
        (entry / LIBRARY).unlink()
    else:
        (entry / "graph.c").write_text("int broken;")
    assert _run(tmp_path)[0] == "compiled"
    assert _run(tmp_path)[0] == "cached"


def test_cache_dir_is_private_and_others_writable_is_refused(tmp_path, monkeypatch):
    root = tmp_path / "fresh"
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(root))
    assert cache_root() == root
    assert root.stat().st_mode & 0o777 == 0o700
    root.chmod(0o777)
    with pytest.raises(CacheError, match="writable by other users"):
        cache_root()


def test_same_graph_gives_identical_source_and_key():
    def build():
        x = gc.fmatrix("x")
        return gc.function([x], gc.exp(x - x.max(axis=1, keepdims=True)).sum(axis=1))
    f1, f2 = build(), build()
    assert f1.program.key == f2.program.key
    from graphc.codegen.c import generate
    assert generate(f1.fgraph, "v", 1) == generate(f2.fgraph, "v", 1)


def test_different_graphs_get_different_keys():
    x = gc.fvector("x")
    assert gc.function([x], x + 1).program.key != gc.function([x], x + 2).program.key
    y = gc.dvector("y")
    assert gc.function([x], x + 1).program.key != gc.function([y], y + 1).program.key
