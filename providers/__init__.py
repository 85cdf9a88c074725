"""One factory per provider; nodes ask here for a chat model, the embedder or the reranker.

``PROVIDERS`` maps a provider name (as written in Context) to its factory.
Tests swap an entry for a factory of fake models.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from ragloop.providers.bedrock import BedrockProvider
from ragloop.providers.cohere import CohereProvider
from ragloop.providers.local import LocalProvider
from ragloop.providers.nvidia import NvidiaProvider

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

    from ragloop.graph.context import Context
    from ragloop.providers.rerankers import Reranker
    from ragloop.retrieval.index import HybridIndex

PROVIDERS = {"local": LocalProvider(), "nvidia": NvidiaProvider(), "bedrock": BedrockProvider(),
             "cohere": CohereProvider()}


def chat_model(ctx: Context, role: str, *, max_tokens: int, temperature: float | None = None,
               seed: int | None = None, model: str = "") -> BaseChatModel | Runnable:
    """The chat model for a role; `model` ('' = the provider's configured one) routes by difficulty.

    With ``fallback_chat_provider`` set, a failed call is answered by that
    provider's configured model instead (see providers/resilience.py).
    """
    settings = {"role": role, "max_tokens": max_tokens, "seed": ctx.seed if seed is None else seed,
                "temperature": ctx.temperature if temperature is None else temperature}
    primary = PROVIDERS[ctx.chat_provider].chat_model(ctx, model=model, **settings)
    backup = ctx.fallback_chat_provider
    if not backup or backup == ctx.chat_provider:
        return primary
    from ragloop.providers.resilience import with_fallback

    return with_fallback(primary, lambda: PROVIDERS[backup].chat_model(ctx, model="", **settings),
                         f"{ctx.chat_provider}->{backup}")


def embeddings(ctx: Context) -> tuple[str, Embeddings]:
    """(embedder name recorded in the index, Embeddings)."""
    return PROVIDERS[ctx.embedding_provider].embeddings(ctx)


def reranker(ctx: Context) -> Reranker:
    if ctx.rerank_provider == "none":
        from ragloop.providers.rerankers import RetrievalOrder

        return RetrievalOrder()
    return PROVIDERS[ctx.rerank_provider].reranker(ctx)


def index_documents(ctx: Context, *, add: Sequence[Document] = (), delete_sources: Sequence[str] = (),
                    replace_all: bool = False, progress: Callable[[int, int], None] | None = None) -> dict:
    """Update the index at ctx.index_path with ctx's embedder and chunking (retrieval/index.py: update_index);
    returns the new manifest."""
    from ragloop.retrieval.index import update_index

    name, embedder = embeddings(ctx)
    return update_index(ctx.index_path, embedder, name, add=add, delete_sources=delete_sources,
                        replace_all=replace_all, chunk_size=ctx.chunk_size, chunk_overlap=ctx.chunk_overlap,
                        batch_size=ctx.embed_batch_size, progress=progress)


def load_index(ctx: Context) -> HybridIndex:
    """The index at ctx.index_path, loaded once per process and reloaded when it is rebuilt."""
    from pathlib import Path

    path = Path(ctx.index_path).expanduser()
    manifest = path / "manifest.json"
    stamp = manifest.stat().st_mtime_ns if manifest.exists() else None
    name, _ = embeddings(ctx)
    return _load_index(str(path), stamp, name)


@lru_cache(maxsize=2)
def _load_index(path: str, stamp: int | None, embedder_name: str) -> HybridIndex:
    from ragloop.retrieval.index import HybridIndex

    return HybridIndex.load(path, embedder_name)
