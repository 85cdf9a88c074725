"""The index a Context names: loaded once per process, searched, and updated with the Context's embedder.

The one place where retrieval meets a provider (the embedder); nodes, the indexing
graph, the CLI and the server routes all reach the index through here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document

from ragloop import providers
from ragloop.settings import Context

if TYPE_CHECKING:  # the index module brings numpy: imported when an index is first loaded, not with the graph
    from ragloop.retrieval.index import HybridIndex


def load_index(ctx: Context) -> HybridIndex:
    """The index at ctx.index_path, loaded once per process and reloaded when it is rebuilt."""
    path = Path(ctx.index_path).expanduser()
    manifest = path / "manifest.json"
    stamp = manifest.stat().st_mtime_ns if manifest.exists() else None
    name, _ = providers.embeddings(ctx)
    return _load_index(str(path), stamp, name)


@lru_cache(maxsize=2)
def _load_index(path: str, stamp: int | None, embedder_name: str) -> HybridIndex:
    from ragloop.retrieval.index import HybridIndex

    return HybridIndex.load(path, embedder_name)


def hybrid_search(ctx: Context, query: str, where: Mapping[str, Any] | None = None) -> list[Document]:
    """The ctx.k best chunks for the query from the index, BM25 and dense fused; with `where`, only chunks
    whose metadata matches it ({"source": "a.md"}, {"title": ["A", "B"]}: equal to the value, or to one of
    the list's)."""
    index = load_index(ctx)
    _, embedder = providers.embeddings(ctx)
    return index.search(query, embedder.embed_query(query), ctx.k, where=where, **ctx.fusion())


def index_documents(
    ctx: Context,
    *,
    add: Sequence[Document] = (),
    delete_sources: Sequence[str] = (),
    replace_all: bool = False,
    progress: Callable[[int, int], None] | None = None,
    tenant: str | None = None,
) -> dict[str, Any]:
    """Update the index at ctx.index_path with ctx's embedder and chunking (retrieval/index.py: update_index);
    with a tenant, only that tenant's sources are replaced or deleted. Returns the new manifest."""
    from ragloop.retrieval.index import update_index

    name, embedder = providers.embeddings(ctx)
    return update_index(
        ctx.index_path,
        embedder,
        name,
        add=add,
        delete_sources=delete_sources,
        replace_all=replace_all,
        chunk_size=ctx.chunk_size,
        chunk_overlap=ctx.chunk_overlap,
        batch_size=ctx.embed_batch_size,
        progress=progress,
        tenant=tenant,
    )
