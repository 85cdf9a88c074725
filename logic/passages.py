"""How passages are shown to the model: numbered, so that [n] is what it cites."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.documents import Document


def format_passages(docs: Sequence[Document]) -> str:
    """Numbered passages, [1] first; the number is what the model cites."""
    blocks = []
    for n, doc in enumerate(docs, start=1):
        title = doc.metadata.get("title")
        head = f"[{n}] ({title}) " if title else f"[{n}] "
        blocks.append(head + " ".join(doc.page_content.split()))
    return "\n\n".join(blocks)
