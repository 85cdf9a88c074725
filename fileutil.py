"""File helpers shared by the index and the model store."""

from __future__ import annotations

import hashlib
from pathlib import Path


def path_fingerprint(path: str | Path) -> str:
    """A file's identity without its location: a hash of its absolute path. The index keeps it (as `origin`)
    to tell a file added again from another file of the same name, without storing where the indexing
    machine keeps its files."""
    return "path:" + hashlib.sha256(str(Path(path).expanduser().resolve()).encode()).hexdigest()[:16]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
