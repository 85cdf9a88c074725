"""plan: how the budget's answers are sampled, after the token budget has had its say.

The budget table grants documents, samples and partitions; ``max_tokens_per_query``
may grant less. Samples are dropped first (and with them partitions), then, for
the one answer a question always gets, documents from the end of the ranking.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langgraph.runtime import Runtime

from ragloop.logic.abstention import may_abstain
from ragloop.logic.answers import NOT_FOUND, OVER_BUDGET, UNANSWERABLE
from ragloop.logic.budget import call_cost, count, fitting, held, partition, remaining, window
from ragloop.logic.passages import format_passages
from ragloop.prompts.generate import ANSWER_PROMPTS
from ragloop.settings import Context, get_context
from ragloop.state import State


def answer_prompt(docs: Sequence[Document], question: str, may_abstain: bool = False) -> list[BaseMessage]:
    return ANSWER_PROMPTS[may_abstain].format_messages(passages=format_passages(docs), question=question)


def sample_cost(docs: list[Document], question: str, ctx: Context, may_abstain: bool = False) -> int:
    return call_cost(answer_prompt(docs, question, may_abstain), ctx.generate_max_tokens)


def plan_answers(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    budget, question = held(state["budget"], ctx), state["question"]
    docs = state.get("relevant", [])[: budget["docs"]]
    update: dict = {"warnings": [], "degraded": []}
    if not docs and ctx.answer_when_nothing_relevant and state.get("reranked"):
        docs = state["reranked"][: budget["docs"]]
        update["relevant"] = docs  # what generate, select and refine read
        update["warnings"].append(
            f"No document was graded relevant; the answer comes from the reranker's top {len(docs)} documents."
        )
    rewrites = count(state.get("rewrites"), 0, ctx.max_rewrites)
    if len(state.get("relevant", [])) < ctx.min_relevant and rewrites < ctx.max_rewrites:
        update["degraded"].append("rewrite: skipped to stay within max_tokens_per_query")
    if docs and len(docs) < ctx.min_relevant:
        update["warnings"].append(
            f"Only {len(docs)} relevant document(s) found after {rewrites} query rewrite(s); the answer rests on them."
        )
    if not docs:
        return {
            **update,
            "plan": {"samples": 0, "partitions": 0, "docs": 0, "slices": []},
            "answer": NOT_FOUND,
            "stop_reason": UNANSWERABLE,
            "warnings": [*update["warnings"], "No document was graded relevant: the documents do not hold the answer."],
        }

    abstains = may_abstain(state.get("reranked", []), ctx)  # the prompts offer "not found" (its cost counts)
    left = remaining(ctx, state.get("usage"))
    samples = budget["samples"]
    while True:
        parts = min(budget["partitions"], samples, len(docs))
        slices = partition(len(docs), parts)
        slice_costs = [
            sample_cost([docs[n - 1] for n in numbers], question, ctx, parts > 1 or abstains) for numbers in slices
        ]
        cost = sum(slice_costs[i % parts] for i in range(samples))
        if cost <= left or samples == 1:
            break
        samples -= 1
    if samples < budget["samples"]:
        update["degraded"].append(f"generate: {samples} of {budget['samples']} samples fit max_tokens_per_query")
    per_call = min(left, window(ctx))
    # the one answer always made: fewer documents rather than none
    kept = len(fitting(docs, lambda some: answer_prompt(some, question, abstains), ctx.generate_max_tokens, per_call))
    if ctx.hard_token_budget and sample_cost(docs[:kept], question, ctx, abstains) > left:  # not even one answer fits
        update["degraded"].append("generate: no answer fits what is left of max_tokens_per_query")
        return {
            **update,
            "plan": {"samples": 0, "partitions": 0, "docs": 0, "slices": []},
            "answer": OVER_BUDGET,
            "stop_reason": "token budget",
        }
    if kept < len(docs):
        limit = "max_tokens_per_query" if per_call == left else "the model's context window (local_n_ctx)"
        update["degraded"].append(f"generate: {kept} of {len(docs)} documents fit {limit}")
        slices = [[n for n in s if n <= kept] for s in slices]
    return {**update, "plan": {"samples": samples, "partitions": parts, "docs": kept, "slices": slices}}
