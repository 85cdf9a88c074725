"""How parallel and repeated writes to one state key combine."""

from __future__ import annotations

from langchain_core.documents import Document


def merge_usage(
    left: dict[str, dict[str, int]] | None, right: dict[str, dict[str, int]] | None
) -> dict[str, dict[str, int]]:
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
