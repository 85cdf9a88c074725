"""rerank: the configured reranker orders the candidates and keeps as many as the budget can use."""

from __future__ import annotations

from langgraph.cache.base import BaseCache
from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.logic.budget import held, most_docs
from ragloop.persistence.cache_keys import rerank_key
from ragloop.persistence.node_cache import through_cache
from ragloop.settings import Context, get_context
from ragloop.state import State


def make_rerank(cache: BaseCache | None):
    async def rerank(state: State, runtime: Runtime[Context]) -> dict:
        ctx = get_context(runtime)
        # Before difficulty has set the budget (first pass), keep enough for the largest row of the table.
        keep = held(state["budget"], ctx)["docs"] if state.get("budget") else most_docs(ctx)
        query, candidates = state.get("query") or state["question"], state.get("candidates", [])

        async def ranked() -> dict:
            return {"reranked": await providers.rerank(ctx, query, candidates, keep)}

        key = (lambda: rerank_key(query, candidates, keep, ctx)) if ctx.cache_ttl_seconds else None
        return await through_cache(cache, "rerank", key, ranked)

    return rerank
