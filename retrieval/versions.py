"""How an index folder changes on disk without readers ever seeing half of it.

An index path is a symbolic link to one complete version folder beside it::

    index -> .index.versions/v-20261121T113000-1234
    .index.versions/v-...      complete versions (the current one and the one before)
    .index.versions/tmp-...    a version being written (left behind only by a crash)
    .index.lock                held by the one writer at a time

A writer builds the next version in a ``tmp-`` folder, renames it to ``v-`` when
every file is written, and then swaps the link with one atomic ``rename``. A
reader that resolved the old link keeps reading the old version, which stays on
disk until the version after the next is published. A writer killed at any
point leaves the link on a complete version; its ``tmp-`` folder is removed by
the next writer. An index written by an earlier ragloop as a plain folder is
replaced by rename and then follows this layout.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ragloop.errors import InputError


def versions_dir(target: Path) -> Path:
    return target.with_name(f".{target.name}.versions")


@contextmanager
def writer_lock(target: Path) -> Iterator[None]:
    """Exclusive right to write the index at target (other writers wait; readers never do)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(f".{target.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def new_staging(target: Path) -> Path:
    """An empty folder for the next version; unfinished ones from crashed writers are removed first."""
    versions = versions_dir(target)
    versions.mkdir(parents=True, exist_ok=True)
    for stale in versions.glob("tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix="tmp-", dir=versions))


def publish(staged: Path, target: Path) -> Path:
    """Make the fully written staged folder the index at target, atomically; returns the version folder."""
    now = time.time_ns()  # one reading: names sort in publishing order
    version = staged.with_name(f"v-{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now // 10**9))}-{now % 10**9:09d}")
    os.replace(staged, version)
    link = target.with_name(f".{target.name}.link-{os.getpid()}")
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(version, target.parent))
    if target.exists() and not target.is_symlink():
        if not target.is_dir():
            raise InputError(f"{target} exists and is not a ragloop index; choose another index folder.")
        retired = target.with_name(f".{target.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(target, retired)  # a plain folder from an earlier ragloop: replaced once, by rename
        os.replace(link, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(link, target)
    _prune(target, keep={version, _previous(target, version)})
    return version


def _previous(target: Path, current: Path) -> Path | None:
    done = sorted(p for p in versions_dir(target).glob("v-*") if p != current)
    return done[-1] if done else None


def _prune(target: Path, keep: set[Path | None]) -> None:
    """Remove versions older than the previous one (a reader may still be reading the previous)."""
    for version in versions_dir(target).glob("v-*"):
        if version not in keep:
            shutil.rmtree(version, ignore_errors=True)
