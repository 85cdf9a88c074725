"""grade: one model call judges the budget's documents; the relevant ones are kept.

After a rewrite the search returns many of the documents already judged against the same
question: only the new ones are graded (the relevant ones from before are already kept).
Documents that one prompt cannot hold within the model's context window are judged in as
many calls as it takes.
"""

from __future__ import annotations

from langchain_core.documents import Document
from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.logic.budget import affordable, call_cost, held, window, window_batches
from ragloop.logic.logprobs import yes_probabilities
from ragloop.logic.passages import format_passages
from ragloop.logic.usage import spent
from ragloop.prompts.grade import GRADE_PROMPT
from ragloop.settings import Context, get_context
from ragloop.state import State


async def grade(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    judged = set(state.get("graded", []))
    reranked = state.get("reranked", [])[: held(state["budget"], ctx)["docs"]]
    docs = [d for d in reranked if d.metadata["id"] not in judged]
    if not docs:
        return {"relevant": []}
    question = state["question"]

    def prompt(some):
        return GRADE_PROMPT.format_messages(passages=format_passages(some), question=question, n=len(some))

    def max_tokens(n: int) -> int:
        return ctx.grade_max_tokens * n

    calls = [
        (batch, prompt(batch), max_tokens(len(batch)))
        for batch in window_batches(docs, prompt, max_tokens, window(ctx))
    ]
    if not affordable(ctx, state.get("usage"), sum(call_cost(messages, cap) for _, messages, cap in calls)):
        return {
            "relevant": docs,
            "degraded": [
                "grade: skipped to stay within max_tokens_per_query; the reranked documents are used ungraded"
            ],
        }
    level = state["difficulty"].get("level", "")
    kept, replies = [], []
    for batch, messages, cap in calls:
        reply = await providers.ask(ctx, "grade", messages, max_tokens=cap, level=level)
        replies.append(reply)
        kept += [
            Document(page_content=doc.page_content, metadata={**doc.metadata, "p_relevant": round(p_yes, 4)})
            for doc, p_yes in zip(batch, yes_probabilities(reply, len(batch)), strict=True)
            if p_yes is not None and p_yes >= ctx.grade_threshold
        ]
    return {"relevant": kept, "graded": [d.metadata["id"] for d in docs], **spent("grade", *replies)}
