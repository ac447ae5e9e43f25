"""The compile cache: warm starts skip the compiler, bad entries are rebuilt, concurrent builds are safe."""
import os
import signal
import subprocess
import sys
import textwrap
import time
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


def _files(cache: Path) -> set[str]:
    return {str(p.relative_to(cache)) for p in cache.rglob("*")}


def _entry_files(key: str) -> set[str]:
    """Exactly what one published entry leaves: its shard, lock, directory and three files."""
    entry = f"{key[:2]}/{key}"
    return {key[:2], f"{entry}.lock", entry, f"{entry}/graph.c", f"{entry}/{LIBRARY}", f"{entry}/meta.json"}


def test_sixteen_processes_into_an_empty_cache_build_once_and_leave_one_entry(tmp_path):
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(16)]
    results = [p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1] for r in results]
    statuses = sorted(r[0].split()[0] for r in results)
    assert statuses.count("compiled") == 1
    key = results[0][0].split()[1]
    assert _files(tmp_path) == _entry_files(key)


SLOW_CC = """#!/bin/sh
# a C compiler that takes its time when asked to (its identity, part of the cache key, stays the same)
if [ -n "$GRAPHC_TEST_CC_SLEEP" ]; then touch "$GRAPHC_TEST_CC_SLEEP"; sleep 60; fi
exec cc "$@"
"""


def test_a_process_killed_while_compiling_leaves_nothing_trusted(tmp_path):
    cache, cc, started = tmp_path / "cache", tmp_path / "slowcc", tmp_path / "started"
    cc.write_text(SLOW_CC)
    cc.chmod(0o755)
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(cache), "CC": str(cc)}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], env={**env, "GRAPHC_TEST_CC_SLEEP": str(started)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert started.exists(), proc.communicate()
    os.killpg(proc.pid, signal.SIGKILL)          # the process and the compiler it runs
    proc.communicate()
    assert not [p for p in cache.rglob(LIBRARY) if ".tmp-" not in str(p)], "a killed build published an entry"
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    status, key = out.stdout.split()
    assert status == "compiled"
    assert _files(cache) == _entry_files(key)     # the dead builder's temporary directory is gone too


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
    root.chmod(0o700)
    x = gc.dvector("x")
    key = gc.function([x], x * 3).program.key
    shard = root / key[:2]
    assert shard.stat().st_mode & 0o777 == 0o700 and (shard / key).exists()
    shard.chmod(0o775)                       # someone could plant a library in it
    with pytest.raises(CacheError, match="writable by other users"):
        gc.function([x], x * 3)


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
