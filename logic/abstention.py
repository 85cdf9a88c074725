"""When the documents may not hold the answer: read from the reranker's best score.

Two thresholds on the same score (measured in docs/measurements/abstention.md): below ``abstain_below`` the
run answers "not found" with no answer call; below ``abstain_prompt_below`` the answer prompts tell the model it
may reply "not found". Above both, the model is asked for an answer outright: a small model told it may
decline declines answerable questions too, so it is told so only where retrieval itself is unsure.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.documents import Document

from ragloop.settings import Context

#: The thresholds measured for the shipped cross-encoder (docs/measurements/abstention.md). Other rerankers
#: score on other scales (NeMo: logits, Cohere: 0-1 relevance), so there the unset thresholds are off.
CALIBRATED = {"abstain_below": 0.4, "abstain_prompt_below": 0.9}
OFF = -100.0


def threshold(ctx: Context, name: str) -> float:
    """A threshold as set, or, unset, its calibrated value with the shipped cross-encoder and off otherwise."""
    value = getattr(ctx, name)
    if value is not None:
        return float(value)
    shipped = ctx.rerank_provider == "local" and ctx.local_reranker == "cross-encoder" and not ctx.local_reranker_path
    return CALIBRATED[name] if shipped else OFF


def best_score(docs: Sequence[Document]) -> float | None:
    """The reranker's score of the first document (None: no documents, or a reranker that gives none)."""
    score = docs[0].metadata.get("rerank_score") if docs else None
    return None if score is None else float(score)


def weak_evidence(docs: Sequence[Document], ctx: Context) -> str | None:
    """Why the reranker's best score says the documents do not hold the answer (Context.abstain_below)."""
    top, below = best_score(docs), threshold(ctx, "abstain_below")
    if top is None or top >= below:
        return None
    return f"The best passage's rerank score {top:.2f} is below abstain_below ({below}): not answered."


def may_abstain(docs: Sequence[Document], ctx: Context) -> bool:
    """Whether the answer prompts offer "not found" (Context.abstain_prompt_below)."""
    top = best_score(docs)
    return top is not None and top < threshold(ctx, "abstain_prompt_below")
