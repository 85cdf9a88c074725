"""The indexing graph (``langgraph.json`` → ``ragloop_index``): add, replace or delete documents by source.

    START → check → update → END

Input: ``documents`` ([{"source", "text" or "base64", "title"?}], a known source is replaced; "base64" carries
a PDF, HTML, Word or text file, read as its source's name says) and/or
``delete`` (sources to remove). The index, embedder and chunking come from the same
Context as the question-answering graph, so Studio shows one form for both. ``update``
streams its progress as custom events ({"embedded": n, "to_embed": total}) and
publishes the new index version atomically (retrieval/versions.py): readers keep
answering from the previous version until it is complete, and index runs queue
on the index's writer lock.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from ragloop.nodes.indexing import check, update
from ragloop.settings import Context
from ragloop.state.indexing import IndexInput, IndexOutput, IndexState


def build_index_graph() -> StateGraph[IndexState, Context, IndexInput, IndexOutput]:
    builder = StateGraph(IndexState, context_schema=Context, input_schema=IndexInput, output_schema=IndexOutput)
    builder.add_node("check", check)
    builder.add_node("update", update)
    builder.add_edge(START, "check")
    builder.add_edge("check", "update")
    builder.add_edge("update", END)
    return builder


index_graph = build_index_graph().compile(name="ragloop_index")
