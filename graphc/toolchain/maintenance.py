"""Looking after the compile cache (``graphc cache``): what is in it, and removing entries while other processes
may be using it.

The layout is cache.py's: ``root/<2 hex>/<64 hex key>/`` per entry, ``<key>.lock`` beside it. An entry is removed
only if its lock can be taken at once (no process is building it), and it is first renamed away atomically, so
another process sees the whole entry or none; a process that already loaded its library keeps using it (the
mapping outlives the files). Lock files stay: deleting one could let two processes hold "the" lock of a key at once.
Directories left by interrupted builds (``.tmp-*``) and removals (``.trash-*``) are cleaned up the same way."""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

_SHARD = re.compile(r"[0-9a-f]{2}")
_KEY = re.compile(r"[0-9a-f]{64}")
_LEFTOVER = re.compile(r"\.(tmp|trash)-([0-9a-f]+)-")


@dataclass
class Usage:
    entries: int = 0
    bytes: int = 0
    oldest: float | None = None  # last use of the least recently used entry (seconds since the epoch)
    newest: float | None = None
    leftovers: int = 0


@dataclass
class Removal:
    removed: int = 0
    bytes: int = 0
    busy: int = 0  # skipped: a process holds their lock


def entries(root: Path) -> list[Path]:
    return sorted(entry for shard in _shards(root) for entry in shard.iterdir()
                  if entry.is_dir() and _KEY.fullmatch(entry.name))


def last_use(entry: Path) -> float:
    """When the entry was last built or opened (the cache touches an entry each time it opens it)."""
    return entry.stat().st_mtime


def usage(root: Path) -> Usage:
    out = Usage()
    for entry in entries(root):
        try:
            used, size = last_use(entry), _size(entry)
        except FileNotFoundError:  # removed meanwhile
            continue
        out.entries += 1
        out.bytes += size
        out.oldest = used if out.oldest is None else min(out.oldest, used)
        out.newest = used if out.newest is None else max(out.newest, used)
    out.leftovers = len(_leftovers(root))
    return out


def remove(root: Path, older_than_s: float | None = None) -> Removal:
    """Remove every entry (or those unused for ``older_than_s`` seconds) that nobody is building."""
    out = Removal()
    cutoff = None if older_than_s is None else time.time() - older_than_s
    for entry in entries(root):
        try:
            if cutoff is not None and last_use(entry) >= cutoff:
                continue
            size = _size(entry)
        except FileNotFoundError:
            continue
        if _remove(entry, [entry.parent / f"{entry.name}.lock"], entry.name[:16]):
            out.removed += 1
            out.bytes += size
        else:
            out.busy += 1
    for leftover in _leftovers(root):
        prefix = _LEFTOVER.match(leftover.name).group(2)
        _remove(leftover, sorted(leftover.parent.glob(f"{prefix}*.lock")), prefix)
    return out


def _remove(path: Path, locks: list[Path], prefix: str) -> bool:
    """Rename ``path`` away and delete it, if every lock in ``locks`` is free; False if one is held."""
    trash = path.parent / f".trash-{prefix}-{uuid.uuid4().hex[:8]}"
    handles = [open(lock, "a") for lock in locks]
    try:
        if not all(_try_lock(handle) for handle in handles):
            return False
        os.rename(path, trash)
    except FileNotFoundError:  # another process removed it first
        return False
    finally:
        for handle in handles:
            handle.close()  # releases the lock
    shutil.rmtree(trash, ignore_errors=True)
    return True


def _try_lock(handle) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _shards(root: Path) -> list[Path]:
    return [shard for shard in root.iterdir() if shard.is_dir() and _SHARD.fullmatch(shard.name)]


def _leftovers(root: Path) -> list[Path]:
    return sorted(path for shard in _shards(root) for path in shard.iterdir()
                  if path.is_dir() and _LEFTOVER.match(path.name))


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
