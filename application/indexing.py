"""Index files: read them (retrieval/loaders.py) and update the Context's index with them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ragloop.retrieval.loaders import Reading, read_files
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

    `on_start(documents)` hears how many documents were read before embedding starts; `progress(done, total)`
    follows the embedding. Returns the new manifest, with `files`: every file read, and every file skipped
    with its reason.
    """
    reading = read_files(paths) if paths else Reading()
    if on_start is not None:
        on_start(len(reading.documents))
    manifest = index_documents(
        ctx, add=reading.documents, delete_sources=delete or [], replace_all=not (add or delete), progress=progress
    )
    return {**manifest, "files": reading.report()}
