"""The graph's state: a narrow input, a narrow output, and the working state between."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.documents import Document


def merge_usage(left: dict[str, dict[str, int]] | None, right: dict[str, dict[str, int]] | None) -> dict[str, dict[str, int]]:
    """Sum token counts per node: {"grade": {"input_tokens": .., "output_tokens": .., "calls": ..}}."""
    merged = {node: dict(counts) for node, counts in (left or {}).items()}
    for node, counts in (right or {}).items():
        into = merged.setdefault(node, {})
        for key, value in counts.items():
            into[key] = into.get(key, 0) + value
    return merged


def sum_per_node(left: dict[str, float] | None, right: dict[str, float] | None) -> dict[str, float]:
    """Sum a number per node across loop iterations and parallel samples (seconds, retries)."""
    merged = dict(left or {})
    for node, seconds in (right or {}).items():
        merged[node] = round(merged.get(node, 0.0) + seconds, 4)
    return merged


def merge_documents(left: list[Document] | None, right: list[Document] | None) -> list[Document]:
    """Union by document id, keeping the higher rerank score; best first."""
    by_id: dict[str, Document] = {}
    for doc in [*(left or []), *(right or [])]:
        doc_id = doc.metadata["id"]
        old = by_id.get(doc_id)
        if old is None or doc.metadata.get("rerank_score", 0.0) > old.metadata.get("rerank_score", 0.0):
            by_id[doc_id] = doc
    return sorted(by_id.values(), key=lambda d: -d.metadata.get("rerank_score", 0.0))


class Draft(TypedDict):
    """One sampled answer: its text (citations numbered over all the budget's documents)."""

    text: str
    sample: int
    partition: int
    confidence: float | None  # mean token probability, when the model returns logprobs


class InputState(TypedDict):
    question: str


class OutputState(TypedDict, total=False):
    answer: str
    asked: str  # the question as asked
    question: str  # what was searched and answered: `asked`, made standalone from a thread's history
    citations: list[dict[str, Any]]
    difficulty: dict[str, Any]  # level, score, confidence, estimator, reranker signals, retrieval_confidence
    budget: dict[str, Any]  # what the difficulty table granted: docs, samples, partitions, refine_rounds, model
    compute: dict[str, Any]  # what was spent: tokens, samples, refine rounds, what was cut and why it stopped
    usage: Annotated[dict[str, dict[str, int]], merge_usage]  # per node
    usage_by_model: Annotated[dict[str, dict[str, int]], merge_usage]  # per model: what the price table reads
    cost_usd: float
    timings: Annotated[dict[str, float], sum_per_node]
    retries: Annotated[dict[str, int], sum_per_node]  # per node: attempts the RetryPolicy added
    rewrites: int
    warnings: Annotated[list[str], operator.add]


class State(InputState, OutputState, total=False):
    query: str
    candidates: list[Document]
    reranked: list[Document]
    relevant: Annotated[list[Document], merge_documents]
    graded: Annotated[list[str], operator.add]  # ids of the documents graded this run: a rewrite's search grades only new ones
    plan: dict[str, Any]  # the sampling plan after the token budget: samples, partitions, docs
    history: Annotated[list[dict[str, str]], operator.add]  # a thread's earlier (question, answer) turns
    cache_scope: dict[str, str]  # per cached node: the settings and index version its cache key covers; the run id
    node_runs: Annotated[list[tuple[str, str]], operator.add]  # (cached node, run id that computed it): hits differ
    drafts: Annotated[list[Draft], operator.add]  # filled in parallel by the generate fan-out
    refine_rounds: int
    degraded: Annotated[list[str], operator.add]  # what the token budget cut, in order
    stop_reason: str


class SampleState(TypedDict):
    """What one generate task receives through Send."""

    question: str
    docs: list[Document]  # the documents this sample reads (its partition)
    numbers: list[int]  # their numbers among all the budget's documents, for citations
    sample: int
    partition: int
    sliced: bool  # one slice of a partition ensemble (it may reply "not found")
    temperature: float
    model: str
