"""check / update: the indexing graph's two steps, payload validation and the index update.

The payload is read here for the graph and for the server's ``/index`` routes alike: one rule for source
names (logic/sources.py) and, for files, the operator's upload limits (settings/uploads.py)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from langchain_core.documents import Document
from langgraph.runtime import Runtime

from ragloop.errors import InputError
from ragloop.logic.sources import source_problem
from ragloop.logic.trust import tenant_of_this_run
from ragloop.retrieval.documents import Limits
from ragloop.retrieval.loaders import load_bytes
from ragloop.retrieval.store import index_documents
from ragloop.settings import Context, get_context
from ragloop.state.indexing import IndexState


def documents_from_payload(documents: Any, limits: Limits | None = None) -> list[Document]:
    """[{"source", "text" or "base64", "title"?}] as Documents, or InputError naming what is wrong.

    "base64" carries a file's bytes, read as its source's name says (`handbook.pdf`: a PDF; .html, .docx,
    .txt, .md, .json, .jsonl likewise), within `limits` when given (an upload's).
    """
    if not isinstance(documents, list):
        raise InputError('documents must be a list of {"source": "...", "text": "..."}.')
    parsed = []
    for i, d in enumerate(documents):
        if not isinstance(d, dict) or not str(d.get("source") or "").strip():
            raise InputError(f'Document {i} needs a non-empty "source" and "text".')
        source = d["source"]
        if problem := source_problem(source):
            raise InputError(f"Document {i}: {problem}")
        title = {"title": str(d["title"])} if d.get("title") else {}
        if d.get("base64") is not None:
            try:
                raw = base64.b64decode(str(d["base64"]), validate=True)
            except (binascii.Error, ValueError):
                raise InputError(f'Document {i} ({source}): "base64" is not base64.') from None
            parsed += [
                Document(page_content=doc.page_content, metadata={**doc.metadata, **title})
                for doc in load_bytes(raw, source, limits=limits)
                if doc.page_content.strip()
            ]
        elif str(d.get("text") or "").strip():
            text = str(d["text"])
            if limits and len(text) > limits.chars:
                raise InputError(
                    f"Document {i} ({source}) has more than {limits.chars:,} characters (upload_max_chars)."
                )
            parsed.append(Document(page_content=text, metadata={"source": source, "doc_key": source, **title}))
        else:
            raise InputError(f'Document {i} needs a non-empty "source" and "text" (or a file as "base64").')
    return parsed


def documents_from_body(body: bytes, limits: Limits) -> list[Document]:
    """The documents of an ``/index/documents`` request body ({"documents": [...]}), within an upload's
    limits. Run by the server in its parsing process (serving/uploads.py), so nothing here blocks it."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        raise InputError('Send JSON {"documents": [{"source": "...", "text": "..."}]}.') from None
    docs = documents_from_payload(payload.get("documents") if isinstance(payload, dict) else None, limits)
    if not docs:
        raise InputError("Give at least one document.")
    return docs


def delete_problem(delete: Any) -> str | None:
    """Why a list of sources to delete is refused, or None."""
    if not isinstance(delete, list):
        return "delete must be a list of source names."
    return next((problem for source in delete if (problem := source_problem(source))), None)


def check(state: IndexState, runtime: Runtime[Context]) -> dict:
    parsed = documents_from_payload(state.get("documents") or [], Limits.of(get_context(runtime)))
    delete = state.get("delete") or []
    if problem := delete_problem(delete):
        raise InputError(problem)
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
    return {
        "chunks": manifest["chunks"],
        "update": manifest["last_update"],
        "read": sorted({str(doc.metadata["source"]) for doc in state["parsed"]}),
    }
