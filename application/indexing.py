"""Index files: read them (retrieval/loaders.py) and update the Context's index with them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ragloop.retrieval.loaders import FileStream
from ragloop.retrieval.store import index_documents
from ragloop.settings import Context


def index_files(
    paths: list[str],
    ctx: Context,
    *,
    add: bool = False,
    delete: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Index exactly these files; with `add`, add or replace them by source; `delete` removes sources.

    The files are read one at a time as the index takes their documents, so a folder's text is never in
    memory all at once. `on_start(files)` hears how many files there are to read before the first is read;
    `progress(done, total)` follows the embedding. Returns the new manifest, with `files`: every file read,
    and every file skipped with its reason.
    """
    stream = FileStream(paths) if paths else None
    if on_start is not None:
        on_start(stream.files if stream else 0)
    manifest = index_documents(
        ctx, add=stream or (), delete_sources=delete or [], replace_all=not (add or delete), progress=progress
    )
    return {**manifest, "files": stream.reading.report() if stream else {"read": [], "skipped": []}}
