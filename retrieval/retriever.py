"""ragloop's retrieval as a LangChain retriever: hybrid search (BM25 + dense, fused) and the configured rerank.

    import ragloop
    retriever = ragloop.retriever(index_path="my-index", filter={"source": "handbook.pdf"})
    retriever.invoke("Who founded the company?")     # the top_n documents, best first, with their scores

Use it in any LangChain chain or agent, or as a tool (`ragloop.retriever_tool`).
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from ragloop import providers
from ragloop.providers.calls import off_loop
from ragloop.retrieval.store import hybrid_search
from ragloop.settings import Context


class HybridRetriever(BaseRetriever):
    """The `k` hybrid candidates of the Context's index, reranked to its `top_n` (unless `rerank` is off)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    context: Context = Field(default_factory=Context)
    filter: dict[str, Any] | None = None  # only chunks whose metadata matches: {"source": "a.md"}
    rerank: bool = True

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        candidates = hybrid_search(self.context, query, where=self.filter)
        if not self.rerank:
            return candidates[: self.context.top_n]
        return providers.reranker(self.context).rerank(query, candidates, self.context.top_n)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        """As the sync search, with the search on a worker thread and an HTTP reranker awaited: the event loop
        stays free, and a cancelled search drops its rerank request."""
        candidates = await off_loop(hybrid_search, self.context, query, where=self.filter)
        if not self.rerank:
            return candidates[: self.context.top_n]
        return await providers.rerank(self.context, query, candidates, self.context.top_n)
