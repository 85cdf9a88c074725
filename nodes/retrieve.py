"""retrieve: BM25 and dense search fused by weighted reciprocal rank, k candidates."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.graph.context import Context, get_context
from ragloop.graph.state import State


def retrieve(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    query = state.get("query") or state["question"]
    index = providers.load_index(ctx)
    _, embedder = providers.embeddings(ctx)
    candidates = index.search(
        query, embedder.embed_query(query), ctx.k,
        bm25_weight=ctx.bm25_weight, dense_weight=ctx.dense_weight, rrf_c=ctx.rrf_c,
    )
    return {"candidates": candidates}
