"""generate: answer from the kept documents with citations; sample, vote and refine as budgeted."""

from __future__ import annotations

from collections import Counter

from langchain_core.documents import Document
from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.graph.context import Context, get_context
from ragloop.graph.state import State, merge_usage
from ragloop.nodes._shared import cited_numbers, format_passages, normalize_answer, usage_of
from ragloop.prompts.generate import GENERATE_PROMPT, NOT_FOUND
from ragloop.prompts.refine import REFINE_PROMPT


def majority(answers: list[str]) -> str:
    """The most frequent answer after normalisation; ties go to the earliest sample."""
    counts = Counter(normalize_answer(a) for a in answers)
    best = max(counts.values())
    return next(a for a in answers if counts[normalize_answer(a)] == best)


def citations_for(answer: str, docs: list[Document]) -> list[dict]:
    """The documents the answer cites ([n] markers); all of them when it cites none."""
    numbers = [n for n in cited_numbers(answer) if 1 <= n <= len(docs)] or list(range(1, len(docs) + 1))
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


def cost_of(usage: dict[str, dict[str, int]], ctx: Context) -> float:
    tokens_in = sum(u.get("input_tokens", 0) for u in usage.values())
    tokens_out = sum(u.get("output_tokens", 0) for u in usage.values())
    return round((tokens_in * ctx.input_price_per_mtok + tokens_out * ctx.output_price_per_mtok) / 1e6, 6)


def generate(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    budget = state.get("budget") or {"docs": ctx.top_n, "samples": 1, "refine_rounds": 0}
    docs = state.get("relevant", [])[: budget["docs"]]
    warnings = list(state.get("warnings") or [])
    if docs and len(docs) < ctx.min_relevant:
        warnings.append(
            f"Only {len(docs)} relevant document(s) found after {state.get('rewrites', 0)} query "
            "rewrite(s); the answer rests on them."
        )
    if not docs:
        usage = state.get("usage", {})
        return {"answer": NOT_FOUND, "citations": [], "warnings": warnings, "cost_usd": cost_of(usage, ctx)}

    passages, question = format_passages(docs), state["question"]
    samples = budget["samples"]
    model = providers.chat_model(
        ctx, "generate", max_tokens=ctx.generate_max_tokens,
        temperature=ctx.sample_temperature if samples > 1 else ctx.temperature,
    )
    prompt = GENERATE_PROMPT.format_messages(passages=passages, question=question)
    replies: list[AIMessage] = [model.invoke(prompt) for _ in range(samples)]
    answer = majority([str(r.content).strip() for r in replies])

    for _ in range(budget.get("refine_rounds", 0)):
        refiner = providers.chat_model(ctx, "refine", max_tokens=ctx.refine_max_tokens)
        reply = refiner.invoke(REFINE_PROMPT.format_messages(passages=passages, question=question, draft=answer))
        replies.append(reply)
        revised = str(reply.content).strip()
        if not revised or normalize_answer(revised) == normalize_answer(answer):
            break  # converged
        answer = revised

    spent = {"generate": usage_of(*replies)}
    return {
        "answer": answer,
        "citations": [] if normalize_answer(answer) == normalize_answer(NOT_FOUND) else citations_for(answer, docs),
        "warnings": warnings,
        "usage": spent,
        "cost_usd": cost_of(merge_usage(state.get("usage"), spent), ctx),
    }
