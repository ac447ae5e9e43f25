"""The on-disk compile cache: one directory per key, built under a per-entry lock, published by atomic rename.

A key names everything that changes the build, so a warm start skips rewriting and rendering: it opens the
library. Each entry records the hashes of its source and library; an entry that fails the check is rebuilt."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import stat
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Callable, Iterator

META = "meta.json"
LIBRARY = "graph.so"
SOURCE = "graph.c"


class CacheError(RuntimeError):
    pass


def cache_root() -> Path:
    """GRAPHC_CACHE_DIR, else the user's cache directory; created private to the user."""
    env = os.environ.get("GRAPHC_CACHE_DIR")
    if env:
        root = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = Path(base) / "graphc"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    _check_private(root)
    return root


def _check_private(directory: Path) -> None:
    """Refuse a directory another user could plant code in: not ours, or writable by group or others."""
    info = directory.stat()
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or info.st_uid != os.getuid():
        raise CacheError(f"graphc cache directory {directory} is writable by other users or not owned by you; "
                         f"graphc will not load code from it (chmod 700 it, or set GRAPHC_CACHE_DIR)")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _valid(entry: Path, source: str) -> dict | None:
    """The entry's metadata if its files are all there and match their recorded hashes."""
    try:
        meta = json.loads((entry / META).read_text())
        if sha256_file(entry / LIBRARY) != meta["library_sha256"]:
            return None
        if sha256_file(entry / source) != meta["source_sha256"]:
            return None
        return meta
    except (OSError, ValueError, KeyError):
        return None


def installation_root() -> Path:
    """Where builds that belong to this installation of graphc rather than to any graph go (the call extension,
    compiled templates): beside the package, private to its owner, so that an empty GRAPHC_CACHE_DIR does not
    rebuild them; in the compile cache where the package directory is not ours to write."""
    here = Path(__file__).resolve().parent.parent / "_build"
    try:
        here.mkdir(mode=0o700, exist_ok=True)
        _check_private(here)
        return here
    except (OSError, CacheError):
        return cache_root()


def lookup_or_build(key: str, build: Callable[[Path], dict], source: str = SOURCE,
                    root: Path | None = None) -> tuple[Path, dict, bool]:
    """(entry directory, metadata, whether this call built it), in ``root`` (default: the compile cache).

    ``build(tmpdir)`` writes ``source`` and LIBRARY into tmpdir and returns extra metadata. Only one process builds a
    given key at a time; the others wait on its lock and then find the published entry."""
    root = root or cache_root()
    shard = root / key[:2]
    shard.mkdir(mode=0o700, exist_ok=True)
    _check_private(shard)
    entry = shard / key
    meta = _valid(entry, source)
    if meta is not None:
        with suppress(OSError):  # the entry's mtime is its last use, for `graphc cache prune --older-than`
            os.utime(entry)
        return entry, meta, False
    with _locked(shard / f"{key}.lock"):
        meta = _valid(entry, source)
        if meta is not None:
            return entry, meta, False
        if entry.exists():
            shutil.rmtree(entry, ignore_errors=True)
        for stale in shard.glob(f".tmp-{key[:16]}-*"):    # left by a builder that died: we hold the lock now
            shutil.rmtree(stale, ignore_errors=True)
        import tempfile    # (here: a warm start builds nothing)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key[:16]}-", dir=shard))
        try:
            meta = dict(build(tmp))
            meta["library_sha256"] = sha256_file(tmp / LIBRARY)
            meta["source_sha256"] = sha256_file(tmp / source)
            (tmp / META).write_text(json.dumps(meta, sort_keys=True, indent=1))
            os.rename(tmp, entry)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return entry, meta, True
