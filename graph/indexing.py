"""The indexing graph (``langgraph.json`` → ``ragloop_index``): add, replace or delete documents by source.

    START → check → update → END

Input: ``documents`` ([{"source", "text", "title"?}], a known source is replaced) and/or
``delete`` (sources to remove). The index, embedder and chunking come from the same
Context as the question-answering graph, so Studio shows one form for both. ``update``
streams its progress as custom events ({"embedded": n, "to_embed": total}) and
publishes the new index version atomically (retrieval/versions.py): readers keep
answering from the previous version until it is complete, and index runs queue
on the index's writer lock.
"""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.documents import Document
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from ragloop.errors import InputError
from ragloop.graph.context import Context, get_context


class IndexInput(TypedDict, total=False):
    documents: list[dict[str, Any]]
    delete: list[str]


class IndexOutput(TypedDict, total=False):
    chunks: int  # in the index after the update
    update: dict[str, Any]  # what changed: added, replaced, deleted sources, chunks embedded and reused


class IndexState(IndexInput, IndexOutput, total=False):
    parsed: list[Document]


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
    from ragloop import providers

    manifest = providers.index_documents(
        get_context(runtime), add=state["parsed"], delete_sources=state.get("delete") or [],
        progress=lambda done, total: runtime.stream_writer({"embedded": done, "to_embed": total}))
    return {"chunks": manifest["chunks"], "update": manifest["last_update"]}


def build_index_graph() -> StateGraph:
    builder = StateGraph(IndexState, context_schema=Context, input_schema=IndexInput, output_schema=IndexOutput)
    builder.add_node("check", check)
    builder.add_node("update", update)
    builder.add_edge(START, "check")
    builder.add_edge("check", "update")
    builder.add_edge("update", END)
    return builder


index_graph = build_index_graph().compile(name="ragloop_index")
