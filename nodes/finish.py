"""finish: citations, the compute report (spent, cut, why it stopped), the estimated cost, and the answer as
an AIMessage appended to `messages`."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from ragloop.logic.answers import NOT_FOUND, OVER_BUDGET, UNANSWERABLE, found
from ragloop.logic.citations import citations_for
from ragloop.logic.messages import answer_message
from ragloop.logic.usage import tokens_spent
from ragloop.persistence.cache_keys import cache_report
from ragloop.providers.prices import estimate_cost, price_table
from ragloop.settings import Context, get_context
from ragloop.state import State


def cost_of(usage_by_model: dict[str, dict[str, int]], ctx: Context) -> float:
    default = {"input": ctx.input_price_per_mtok, "output": ctx.output_price_per_mtok}
    return estimate_cost(usage_by_model, price_table(ctx.price_table), default)


def finish(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    plan, usage = state.get("plan"), state.get("usage") or {}
    answer = state.get("answer") or NOT_FOUND
    rounds = state.get("refine_rounds", 0)
    stop = state.get("stop_reason") or ("refinement cap" if rounds else "answered")
    if not found(answer) and answer != OVER_BUDGET:  # whatever path said so: the documents do not hold it
        stop = UNANSWERABLE
    docs = state.get("relevant", [])[: plan["docs"] if plan else 0]
    citations = citations_for(answer, docs, ctx.citation_min_share) if found(answer) and docs else []
    report: dict[str, Any] = {
        "answer": answer,
        "history": [{"question": state.get("asked") or state["question"], "answer": answer}],
        "citations": citations,
        "compute": {
            "tokens": tokens_spent(usage),
            "max_tokens_per_query": ctx.max_tokens_per_query or None,
            "samples": len(state.get("drafts", [])),
            "partitions": plan["partitions"] if plan else 0,
            "selection": ctx.selection,
            "refine_rounds": rounds,
            "degraded": list(state.get("degraded", [])),
            "retries": dict(state.get("retries") or {}),
            "fallbacks": {node: u["fallbacks"] for node, u in usage.items() if u.get("fallbacks")},
            "stop_reason": stop,
            "cache": cache_report(dict(state)),
        },
        "cost_usd": cost_of(state.get("usage_by_model") or {}, ctx),
    }
    # the answer's tokens were streamed under the id of the call that wrote them: its message keeps that id
    streamed = state.get("answer_id")
    if streamed and any(m.id == streamed for m in state.get("messages", [])):
        streamed = None  # never replace a message already in the conversation
    return {**report, "messages": [answer_message({**state, **report}, streamed)]}
