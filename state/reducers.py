"""How parallel and repeated writes to one state key combine."""

from __future__ import annotations

from langchain_core.documents import Document


def merge_usage(
    left: dict[str, dict[str, int]] | None, right: dict[str, dict[str, int]] | None
) -> dict[str, dict[str, int]]:
    """Sum token counts per node: {"grade": {"input_tokens": .., "output_tokens": .., "calls": ..}}. A count is
    a whole number of at least 0, whatever a write holds: a state a client wrote cannot lower a run's spend."""
    merged: dict[str, dict[str, int]] = {}
    for side in (left, right):
        for node, counts in (side or {}).items() if isinstance(side, dict) else ():
            into = merged.setdefault(str(node), {})
            for key, value in (counts or {}).items() if isinstance(counts, dict) else ():
                into[key] = max(0, into.get(key, 0) + _whole(value))
    return merged


def _whole(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


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
