"""retrieve: BM25 and dense search fused by weighted reciprocal rank, k candidates, among the documents of
the run's own tenant (never one its state names)."""

from __future__ import annotations

from langgraph.cache.base import BaseCache
from langgraph.runtime import Runtime

from ragloop.logic.trust import searched
from ragloop.persistence.cache_keys import retrieve_key
from ragloop.persistence.node_cache import through_cache
from ragloop.providers.calls import off_loop
from ragloop.retrieval.store import hybrid_search
from ragloop.settings import Context, get_context
from ragloop.state import State


def make_retrieve(cache: BaseCache | None):
    async def retrieve(state: State, runtime: Runtime[Context]) -> dict:
        ctx = get_context(runtime)
        query, where = state.get("query") or state["question"], searched(state.get("filter"), ctx.tenancy)

        async def search() -> dict:  # CPU (local index) or network (Milvus): on a worker thread
            return {"candidates": await off_loop(hybrid_search, ctx, query, where=where)}

        key = (lambda: retrieve_key(query, where, ctx)) if ctx.cache_ttl_seconds else None
        return await through_cache(cache, "retrieve", key, search)

    return retrieve
