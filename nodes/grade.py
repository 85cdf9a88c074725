"""grade: one model call judges the budget's documents; the relevant ones are kept.

After a rewrite the search returns many of the documents already judged against the same
question: only the new ones are graded (the relevant ones from before are already kept).
"""

from __future__ import annotations

from langchain_core.documents import Document
from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.logic.budget import affordable, call_cost
from ragloop.logic.logprobs import yes_probabilities
from ragloop.logic.passages import format_passages
from ragloop.logic.usage import spent
from ragloop.prompts.grade import GRADE_PROMPT
from ragloop.settings import Context, get_context
from ragloop.state import State


def grade(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    judged = set(state.get("graded", []))
    docs = [d for d in state.get("reranked", [])[: state["budget"]["docs"]] if d.metadata["id"] not in judged]
    if not docs:
        return {"relevant": []}
    messages = GRADE_PROMPT.format_messages(passages=format_passages(docs), question=state["question"], n=len(docs))
    max_tokens = ctx.grade_max_tokens * len(docs)
    if not affordable(ctx, state.get("usage"), call_cost(messages, max_tokens)):
        return {
            "relevant": docs,
            "degraded": [
                "grade: skipped to stay within max_tokens_per_query; the reranked documents are used ungraded"
            ],
        }
    reply = providers.chat_model(
        ctx, "grade", max_tokens=max_tokens, level=state["difficulty"].get("level", "")
    ).invoke(messages)
    kept = [
        Document(page_content=doc.page_content, metadata={**doc.metadata, "p_relevant": round(p_yes, 4)})
        for doc, p_yes in zip(docs, yes_probabilities(reply, len(docs)), strict=True)
        if p_yes is not None and p_yes >= ctx.grade_threshold
    ]
    return {"relevant": kept, "graded": [d.metadata["id"] for d in docs], **spent("grade", reply)}
