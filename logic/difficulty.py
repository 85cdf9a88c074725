"""Difficulty: a confidence read as a level, and the reranker-score confidence that needs no model call."""

from __future__ import annotations

import math
import re

from langchain_core.documents import Document

from ragloop.settings import Context, Level

_STATED = re.compile(r"confidence\s*[:=]?\s*(\d+(?:\.\d+)?)\s*(%?)", flags=re.I)
_ANSWER_LABEL = re.compile(r"^\s*answer\s*:\s*", flags=re.I)


def classify(confidence: float | None, ctx: Context) -> tuple[Level, float | None]:
    """(level, difficulty score) with difficulty = 1 - confidence; medium when unknown."""
    if confidence is None:
        return "medium", None
    score = 1.0 - confidence
    if score < ctx.easy_below:
        return "easy", score
    if score > ctx.hard_above:
        return "hard", score
    return "medium", score


def escalates(level: Level, from_retrieval: float | None, ctx: Context) -> bool:
    """Whether a medium question is hard because the reranker is unsure too (Context.hard_retrieval_below)."""
    return level == "medium" and from_retrieval is not None and from_retrieval < ctx.hard_retrieval_below


def retrieval_confidence(docs: list[Document], ctx: Context) -> tuple[float | None, dict[str, float]]:
    """sigmoid(w_top * s1 + w_margin * (s1 - s5) + bias) over the reranker's first and fifth scores."""
    scores = [d.metadata.get("rerank_score") for d in docs[:5]]
    if not scores or any(s is None for s in scores):
        return None, {}
    top, margin = float(scores[0]), float(scores[0]) - float(scores[-1])  # type: ignore[arg-type]
    z = ctx.retrieval_top_weight * top + ctx.retrieval_margin_weight * margin + ctx.retrieval_bias
    return 1 / (1 + math.exp(-max(-60.0, min(60.0, z)))), {"top_score": round(top, 4), "margin": round(margin, 4)}


def stated_confidence(text: str) -> float | None:
    """The confidence a reply states (`Confidence: 80`, `80%` or `0.8`), as a probability."""
    match = _STATED.search(text)
    if not match:
        return None
    value = float(match.group(1))
    value = value / 100 if match.group(2) or value > 1 else value
    return min(1.0, max(0.0, value))


def stated_answer(text: str) -> str:
    """The answer a verbal draft states: without its `Answer:` label and `Confidence:` line."""
    stated = _STATED.search(text)
    return _ANSWER_LABEL.sub("", text[: stated.start()] if stated else text).strip()
