"""rerank: the configured reranker keeps the budget's number of best candidates."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.graph.context import Context, get_context
from ragloop.graph.state import State


def rerank(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    top_n = (state.get("budget") or {}).get("docs", ctx.top_n)
    query = state.get("query") or state["question"]
    reranker = providers.reranker(ctx)
    return {"reranked": reranker.rerank(query, state.get("candidates", []), top_n)}
