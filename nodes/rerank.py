"""rerank: the configured reranker orders the candidates and keeps as many as the budget can use."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.logic.budget import most_docs
from ragloop.settings import Context, get_context
from ragloop.state import State


def rerank(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    # Before difficulty has set the budget (first pass), keep enough for the largest row of the table.
    budget = state.get("budget")
    keep = budget["docs"] if budget else most_docs(ctx)
    query = state.get("query") or state["question"]
    return {"reranked": providers.reranker(ctx).rerank(query, state.get("candidates", []), keep)}
