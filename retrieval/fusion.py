"""Weighted reciprocal-rank fusion (Cormack et al., 2009), as LangChain's EnsembleRetriever does it."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

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
