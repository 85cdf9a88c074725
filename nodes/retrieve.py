"""retrieve: BM25 and dense search fused by weighted reciprocal rank, k candidates."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ragloop.logic.tenancy import scoped
from ragloop.retrieval.store import hybrid_search
from ragloop.settings import Context, get_context
from ragloop.state import State


def retrieve(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    return {
        "candidates": hybrid_search(
            ctx, state.get("query") or state["question"], where=scoped(state.get("filter"), state.get("tenant"))
        )
    }
