"""check / update: the indexing graph's two steps, payload validation and the index update."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from langchain_core.documents import Document
from langgraph.runtime import Runtime

from ragloop.errors import InputError
from ragloop.logic.trust import tenant_of_this_run
from ragloop.retrieval.loaders import load_bytes
from ragloop.retrieval.store import index_documents
from ragloop.settings import Context, get_context
from ragloop.state.indexing import IndexState


def documents_from_payload(documents: Any) -> list[Document]:
    """[{"source", "text" or "base64", "title"?}] as Documents, or InputError naming what is wrong.

    "base64" carries a file's bytes, read as its source's name says (`handbook.pdf`: a PDF; .html, .docx,
    .txt, .md, .json, .jsonl likewise).
    """
    if not isinstance(documents, list):
        raise InputError('documents must be a list of {"source": "...", "text": "..."}.')
    parsed = []
    for i, d in enumerate(documents):
        if not isinstance(d, dict) or not str(d.get("source") or "").strip():
            raise InputError(f'Document {i} needs a non-empty "source" and "text".')
        source = str(d["source"])
        title = {"title": str(d["title"])} if d.get("title") else {}
        if d.get("base64") is not None:
            try:
                raw = base64.b64decode(str(d["base64"]), validate=True)
            except (binascii.Error, ValueError):
                raise InputError(f'Document {i} ({source}): "base64" is not base64.') from None
            parsed += [
                Document(page_content=doc.page_content, metadata={**doc.metadata, **title})
                for doc in load_bytes(raw, source)
                if doc.page_content.strip()
            ]
        elif str(d.get("text") or "").strip():
            parsed.append(
                Document(page_content=str(d["text"]), metadata={"source": source, "doc_key": source, **title})
            )
        else:
            raise InputError(f'Document {i} needs a non-empty "source" and "text" (or a file as "base64").')
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
    ctx = get_context(runtime)
    manifest = index_documents(
        ctx,
        add=state["parsed"],
        delete_sources=state.get("delete") or [],
        progress=lambda done, total: runtime.stream_writer({"embedded": done, "to_embed": total}),
        tenant=(tenant_of_this_run() or None) if ctx.tenancy == "per-key" else None,
    )
    return {"chunks": manifest["chunks"], "update": manifest["last_update"]}
