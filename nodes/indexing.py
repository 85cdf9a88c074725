"""check / update: the indexing graph's two steps, payload validation and the index update."""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document
from langgraph.runtime import Runtime

from ragloop.errors import InputError
from ragloop.retrieval.store import index_documents
from ragloop.settings import Context, get_context
from ragloop.state.indexing import IndexState


def documents_from_payload(documents: Any) -> list[Document]:
    """[{"source", "text", "title"?}] as Documents, or InputError naming what is wrong."""
    if not isinstance(documents, list):
        raise InputError('documents must be a list of {"source": "...", "text": "..."}.')
    parsed = []
    for i, d in enumerate(documents):
        if not isinstance(d, dict) or not str(d.get("source") or "").strip() or not str(d.get("text") or "").strip():
            raise InputError(f'Document {i} needs a non-empty "source" and "text".')
        metadata = {"source": str(d["source"]), "doc_key": str(d["source"])}
        if d.get("title"):
            metadata["title"] = str(d["title"])
        parsed.append(Document(page_content=str(d["text"]), metadata=metadata))
    return parsed


def check(state: IndexState) -> dict:
    parsed = documents_from_payload(state.get("documents") or [])
    delete = state.get("delete") or []
    if not isinstance(delete, list) or not all(isinstance(s, str) and s.strip() for s in delete):
        raise InputError("delete must be a list of source ids.")
    if not parsed and not delete:
        raise InputError("Nothing to do: give documents to add or sources to delete.")
    return {"parsed": parsed}


def update(state: IndexState, runtime: Runtime[Context]) -> dict:
    manifest = index_documents(
        get_context(runtime),
        add=state["parsed"],
        delete_sources=state.get("delete") or [],
        progress=lambda done, total: runtime.stream_writer({"embedded": done, "to_embed": total}),
    )
    return {"chunks": manifest["chunks"], "update": manifest["last_update"]}
