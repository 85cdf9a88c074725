"""rerank: the configured reranker orders the candidates and keeps as many as the budget can use."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.graph.context import LEVELS, Context, get_context
from ragloop.graph.state import State
from ragloop.nodes.difficulty import budget_for


def rerank(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    # Before difficulty has set the budget (first pass), keep enough for the largest row of the table.
    keep = state.get("budget", {}).get("docs") or max(budget_for(level, ctx)["docs"] for level in LEVELS)
    query = state.get("query") or state["question"]
    return {"reranked": providers.reranker(ctx).rerank(query, state.get("candidates", []), keep)}
