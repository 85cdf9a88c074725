"""Weighted reciprocal-rank fusion (Cormack et al., 2009), as LangChain's EnsembleRetriever does it."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np
from langchain_core.documents import Document

Id = TypeVar("Id", bound=Hashable)


def weighted_rrf(rankings: Sequence[tuple[Sequence[Id], float]], c: int = 60) -> list[tuple[Id, float]]:
    """Fuse rankings given as (ids best first, weight): score = sum of weight / (c + rank), rank from 1.

    Returns unique ids with their fused score, best first; ties keep first-seen order.
    """
    scores: dict[Id, float] = {}
    for ranked, weight in rankings:
        for rank, item in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (c + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


class Hit(NamedTuple):
    """A chunk an engine returned: its text, metadata and stored vector."""

    text: str
    metadata: Mapping[str, Any]
    vector: Sequence[float]


def fused_documents(
    bm25: Sequence[tuple[Id, float]],
    dense: Sequence[Id],
    hits: Mapping[Id, Hit],
    unit: np.ndarray,
    *,
    k: int,
    bm25_weight: float,
    dense_weight: float,
    rrf_c: int,
    bm25_of: Callable[[list[Id]], Mapping[Id, float]],
) -> list[Document]:
    """An engine's BM25 ranking (ids with scores) and dense ranking fused into the k best chunks, each with
    ``bm25_score`` (asked of the engine again, `bm25_of`, for dense-only hits: the rerankers read it),
    ``dense_score`` (the cosine of its vector with the unit query) and ``retrieval_score`` (fused)."""
    fused = weighted_rrf([([i for i, _ in bm25], bm25_weight), (dense, dense_weight)], c=rrf_c)[:k]
    scores = dict(bm25)
    unscored = [i for i, _ in fused if i not in scores]
    if unscored:
        scores |= bm25_of(unscored)
    results = []
    for i, fused_score in fused:
        hit = hits[i]
        meta = {
            **hit.metadata,
            "retrieval_score": round(float(fused_score), 6),
            "bm25_score": round(float(scores.get(i, 0.0)), 4),
            "dense_score": round(float(np.asarray(hit.vector, dtype=np.float32) @ unit), 4),
        }
        results.append(Document(page_content=hit.text, metadata=meta))
    return results
