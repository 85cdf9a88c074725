"""Citations: the [n] markers an answer carries, or the passages that hold its words."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.documents import Document

from ragloop.logic.answers import CITATION, normalize_answer


def cited_numbers(text: str) -> list[int]:
    """Passage numbers cited as [1] or [1, 3], in order of first citation."""
    seen: list[int] = []
    for group in CITATION.findall(text):
        for number in group.split(","):
            if int(number) not in seen:
                seen.append(int(number))
    return seen


def supporting(answer: str, docs: list[Document], min_share: float) -> list[int]:
    """Numbers (from 1) of the passages holding at least `min_share` of the answer's words, SQuAD-normalised."""
    words = set(normalize_answer(answer).split())
    if not words:
        return []
    return [
        n
        for n, doc in enumerate(docs, 1)
        if len(words & set(normalize_answer(doc.page_content).split())) >= min_share * len(words)
    ]


def renumber_citations(text: str, numbers: list[int]) -> str:
    """Citations [k] of passages numbered 1..len(numbers) rewritten as [numbers[k-1]]; others left as written."""

    def swap(match: re.Match) -> str:
        cited = [int(n) for n in match.group(1).split(",")]
        return "[" + ", ".join(str(numbers[n - 1]) if 1 <= n <= len(numbers) else str(n) for n in cited) + "]"

    return CITATION.sub(swap, text)


def citations_for(answer: str, docs: list[Document], min_share: float) -> list[dict[str, Any]]:
    """The documents the answer cites: its [n] markers; without them, the documents holding its words
    (`supporting`); all of them when none does."""
    numbers = (
        [n for n in cited_numbers(answer) if 1 <= n <= len(docs)]
        or supporting(answer, docs, min_share)
        or list(range(1, len(docs) + 1))
    )
    return [citation(n, docs[n - 1]) for n in numbers]


def citation(n: int, doc: Document) -> dict[str, Any]:
    """What a citation of passage n tells a reader: the document's id, source and title, the PDF page or the
    HTML / Word / Markdown section the passage stands in (when the chunk has one), the passage itself, and its
    rerank score."""
    meta = doc.metadata
    where = {key: meta[key] for key in ("page", "section") if meta.get(key) not in (None, "")}
    return {
        "n": n,
        "id": meta["id"],
        "source": meta.get("source"),
        "title": meta.get("title"),
        **where,
        "cited_text": doc.page_content,
        "rerank_score": meta.get("rerank_score"),
    }
