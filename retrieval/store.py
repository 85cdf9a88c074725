"""The index a Context names, behind one interface whatever engine holds it.

`index_path` chooses the backend: a folder is ragloop's embedded local index (retrieval/local.py);
``lancedb:///path`` a LanceDB table (retrieval/lance.py); ``milvus:///path/file.db`` is Milvus Lite in
this process and ``http(s)://host:19530`` a Milvus server (retrieval/milvus.py). Nodes, the indexing graph, the CLI, the server routes and the benchmarks reach an
index only through the functions here, which also bring the Context's embedder (the one place retrieval
meets a provider).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from ragloop import providers
from ragloop.settings import Context

#: Called as progress(done, total) while chunks are embedded.
Progress = Callable[[int, int], None]


class Backend(Protocol):
    """What ragloop needs of an index engine."""

    def search(
        self,
        query: str,
        vector: Sequence[float],
        k: int,
        *,
        where: Mapping[str, Any] | None,
        bm25_weight: float,
        dense_weight: float,
        rrf_c: int,
        probes: int,
    ) -> list[Document]:
        """The k best chunks, BM25 and dense rankings fused by weighted reciprocal rank, among those whose
        metadata matches `where` (a tenant is a `tenant` key in it); each Document carries its
        ``bm25_score``, ``dense_score`` (cosine) and ``retrieval_score`` (fused)."""
        ...

    def update(
        self,
        embedder: Embeddings,
        embedder_name: str,
        *,
        add: Iterable[Document],
        delete_sources: Sequence[str],
        replace_all: bool,
        chunk_size: int,
        chunk_overlap: int,
        batch_size: int,
        progress: Progress | None,
        tenant: str | None,
    ) -> dict[str, Any]:
        """Add or replace documents by source, delete sources (the tenant's alone), or with `replace_all`
        hold exactly `add`. Returns a manifest with at least ``chunks`` and ``last_update``."""
        ...

    def summary(self, tenant: str | None) -> dict[str, Any]:
        """chunks, documents, sources (and embedder, created, last_update): of the whole index, or with a
        tenant of that tenant's documents only."""
        ...

    def version(self) -> str:
        """Changes whenever the index does (cached answers and candidates key on it)."""
        ...


def is_milvus(location: str) -> bool:
    return location.startswith(("milvus://", "http://", "https://"))


def is_lance(location: str) -> bool:
    return location.startswith("lancedb://")


def backend(ctx: Context) -> Backend:
    """The backend ctx.index_path names, one per location and settings in this process."""
    name, _ = providers.embeddings(ctx)
    return open_backend(ctx.index_path, ctx.milvus_collection, ctx.ann_threshold, name)


@lru_cache(maxsize=8)
def open_backend(location: str, collection: str, ann_threshold: int, embedder_name: str) -> Backend:
    """The backend at a location (one per location and settings in this process)."""
    if is_milvus(location):
        from ragloop.retrieval.milvus import MilvusBackend

        return MilvusBackend(location, collection, embedder_name)
    if is_lance(location):
        from ragloop.retrieval.lance import LanceBackend

        return LanceBackend(location, ann_threshold, embedder_name)
    from ragloop.retrieval.local import LocalBackend

    return LocalBackend(location, ann_threshold, embedder_name)


def hybrid_search(ctx: Context, query: str, where: Mapping[str, Any] | None = None) -> list[Document]:
    """The ctx.k best chunks for the query from the index, BM25 and dense fused; with `where`, only chunks
    whose metadata matches it ({"source": "a.md"}, {"title": ["A", "B"]}, LangChain's operators:
    logic/filters.py)."""
    index = backend(ctx)
    _, embedder = providers.embeddings(ctx)
    found = index.search(query, embedder.embed_query(query), ctx.k, where=where, probes=ctx.ann_probes, **ctx.fusion())
    return [_shown(doc) for doc in found]


#: Metadata the index keeps for itself: the fingerprint of the file a chunk was read from, which tells a
#: re-added file from another of the same name. Search results leave it out, and an absolute `path` (an index
#: written before paths were stored relative to what was indexed), so no state, answer, tool result or client
#: sees the indexing machine's filesystem.
PRIVATE_METADATA = ("origin",)


def _shown(doc: Document) -> Document:
    legacy = str(doc.metadata.get("path") or "").startswith("/")
    if not legacy and not any(key in doc.metadata for key in PRIVATE_METADATA):
        return doc
    hidden = {*PRIVATE_METADATA, *(("path",) if legacy else ())}
    metadata = {k: v for k, v in doc.metadata.items() if k not in hidden}
    return Document(page_content=doc.page_content, metadata=metadata, id=doc.id)


def index_documents(
    ctx: Context,
    *,
    add: Iterable[Document] = (),
    delete_sources: Sequence[str] = (),
    replace_all: bool = False,
    progress: Progress | None = None,
    tenant: str | None = None,
) -> dict[str, Any]:
    """Update the Context's index with its embedder and chunking; with a tenant, only that tenant's sources
    are replaced or deleted. Returns the new manifest."""
    name, embedder = providers.embeddings(ctx)
    return backend(ctx).update(
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


def index_summary(ctx: Context, tenant: str | None = None) -> dict[str, Any]:
    """What the index holds (see Backend.summary); IndexLoadError when there is none."""
    return backend(ctx).summary(tenant)


def index_version(ctx: Context) -> str:
    return backend(ctx).version()
