"""finish: citations, the compute report (spent, cut, why it stopped) and the estimated cost."""

from __future__ import annotations

from langchain_core.documents import Document
from langgraph.runtime import Runtime

from ragloop.graph.caching import cache_report
from ragloop.graph.context import Context, get_context
from ragloop.graph.state import State
from ragloop.nodes._budget import tokens_spent
from ragloop.nodes._shared import cited_numbers, supporting
from ragloop.nodes.select import found
from ragloop.prompts.generate import NOT_FOUND
from ragloop.providers.prices import estimate_cost, price_table


def citations_for(answer: str, docs: list[Document], min_share: float) -> list[dict]:
    """The documents the answer cites: its [n] markers; without them, the documents holding its words
    (`supporting`); all of them when none does."""
    numbers = ([n for n in cited_numbers(answer) if 1 <= n <= len(docs)] or supporting(answer, docs, min_share)
               or list(range(1, len(docs) + 1)))
    return [
        {
            "n": n,
            "id": docs[n - 1].metadata["id"],
            "source": docs[n - 1].metadata.get("source"),
            "title": docs[n - 1].metadata.get("title"),
            "rerank_score": docs[n - 1].metadata.get("rerank_score"),
        }
        for n in numbers
    ]


def cost_of(usage_by_model: dict[str, dict[str, int]], ctx: Context) -> float:
    default = {"input": ctx.input_price_per_mtok, "output": ctx.output_price_per_mtok}
    return estimate_cost(usage_by_model, price_table(ctx.price_table), default)


def finish(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    plan, usage = state.get("plan") or {}, state.get("usage") or {}
    answer = state.get("answer") or NOT_FOUND
    rounds = state.get("refine_rounds", 0)
    stop = state.get("stop_reason") or ("refinement cap" if rounds else "answered")
    docs = state.get("relevant", [])[: plan.get("docs", 0)]
    return {
        "answer": answer,
        "history": [{"question": state.get("asked") or state["question"], "answer": answer}],
        "citations": citations_for(answer, docs, ctx.citation_min_share) if found(answer) and docs else [],
        "compute": {
            "tokens": tokens_spent(usage),
            "max_tokens_per_query": ctx.max_tokens_per_query or None,
            "samples": len(state.get("drafts", [])),
            "partitions": plan.get("partitions", 0),
            "selection": ctx.selection,
            "refine_rounds": rounds,
            "degraded": list(state.get("degraded", [])),
            "retries": dict(state.get("retries") or {}),
            "fallbacks": {node: u["fallbacks"] for node, u in usage.items() if u.get("fallbacks")},
            "stop_reason": stop,
            "cache": cache_report(state),
        },
        "cost_usd": cost_of(state.get("usage_by_model") or {}, ctx),
    }
