"""ragloop: an agentic RAG LangGraph graph that spends inference compute where a question needs it.

The compiled graph is ``ragloop.graph.builder.graph``; the settings are ``ragloop.settings.Context``.
The LangChain objects below are built on first use, so importing this package stays cheap:

- ``ragloop.retriever(filter=None, **settings)``: hybrid search + rerank as a ``BaseRetriever``;
- ``ragloop.compressor(**settings)``: the configured reranker as a ``BaseDocumentCompressor``;
- ``ragloop.retriever_tool(name=..., description=..., **settings)``: the retriever as an agent tool;
- ``ragloop.graph_tool(name=..., description=..., **settings)``: the whole graph (answer with sources) as a tool.

``settings`` are ``Context`` fields (``index_path="my-index"``, ``top_n=8``…).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.tools import BaseTool

    from ragloop.providers.rerankers import RerankerCompressor

__version__ = "0.1.0"


def retriever(filter: dict[str, Any] | None = None, *, rerank: bool = True, **settings: Any) -> BaseRetriever:
    """Hybrid search and the configured rerank over the index the settings name, as a LangChain retriever."""
    from ragloop.retrieval.retriever import HybridRetriever
    from ragloop.settings import Context

    return HybridRetriever(context=Context.from_overrides(settings), filter=filter, rerank=rerank)


def compressor(**settings: Any) -> RerankerCompressor:
    """The reranker the settings configure, as a LangChain document compressor keeping `top_n`."""
    from ragloop import providers
    from ragloop.providers.rerankers import RerankerCompressor
    from ragloop.settings import Context

    ctx = Context.from_overrides(settings)
    return RerankerCompressor(reranker=providers.reranker(ctx), top_n=ctx.top_n)


def retriever_tool(
    name: str = "search_documents",
    description: str = (
        "Search the indexed documents; returns the passages most relevant to the query, numbered [n] with their "
        "source, title and page or section, to cite."
    ),
    filter: dict[str, Any] | None = None,
    **settings: Any,
) -> BaseTool:
    """The retriever as a tool an agent calls with a query: its content the passages numbered [1], [2]… with
    source, title and page or section (what a model needs to cite them), its artifact the Documents
    (``response_format="content_and_artifact"``)."""
    from langchain_core.tools import StructuredTool

    search = retriever(filter, **settings)

    def numbered(docs: list) -> tuple[str, list]:
        return "\n\n".join(f"{_cited_as(n, doc)}\n{doc.page_content}" for n, doc in enumerate(docs, 1)), docs

    def passages(query: str) -> tuple[str, list]:
        """query: what to search the documents for, in words."""
        return numbered(search.invoke(query))

    async def apassages(query: str) -> tuple[str, list]:
        """query: what to search the documents for, in words."""
        return numbered(await search.ainvoke(query))

    return StructuredTool.from_function(
        passages, apassages, name=name, description=description, response_format="content_and_artifact"
    )


def _cited_as(n: int, doc: Any) -> str:
    """A passage's heading in a tool result: `[n] title (source, page 3)` or `… (source, § Chapter › Section)`."""
    meta = doc.metadata
    where = [str(meta.get("source") or meta.get("id") or "")]
    if meta.get("page"):
        where.append(f"page {meta['page']}")
    if meta.get("section"):
        where.append(f"§ {meta['section']}")
    return f"[{n}] {meta.get('title') or meta.get('id')} ({', '.join(w for w in where if w)})"


def graph_tool(
    name: str = "ask_documents",
    description: str = "Answer a question from the indexed documents, with citations.",
    **settings: Any,
) -> BaseTool:
    """The whole ragloop graph as a tool: the agent passes a question, gets the answer and its sources."""
    from langchain_core.tools import StructuredTool

    from ragloop.graph.builder import graph
    from ragloop.settings import Context

    context = Context.from_overrides(settings)

    def with_sources(out: dict) -> str:
        sources = "; ".join(f"[{c['n']}] {c.get('title') or c['id']} ({c.get('source')})" for c in out["citations"])
        return out["answer"] + (f"\nSources: {sources}" if sources else "")

    def ask(question: str) -> str:
        """question: the question, in words."""
        return with_sources(graph.invoke({"question": question}, context=context))

    async def aask(question: str) -> str:
        """question: the question, in words."""
        return with_sources(await graph.ainvoke({"question": question}, context=context))

    return StructuredTool.from_function(ask, aask, name=name, description=description)
