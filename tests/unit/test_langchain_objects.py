"""ragloop's parts as LangChain objects: a retriever with a metadata filter, the reranker as a document
compressor, both graphs and the retriever as agent tools, and the README's agent example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.retrievers import BaseRetriever

import ragloop
from tests.conftest import FACTS
from tests.unit.test_graph import scripts

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_retriever_returns_top_n_reranked_documents(use_provider, fake_index):
    use_provider(scripts())
    retriever = ragloop.retriever(index_path=str(fake_index), top_n=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("atomic number of oxygen")
    assert len(docs) == 3 and docs[0].metadata["title"] == "Oxygen"
    scores = [d.metadata["rerank_score"] for d in docs]
    assert scores == sorted(scores, reverse=True)


def test_the_filter_keeps_search_to_matching_documents_in_bm25_and_dense_alike(use_provider, fake_index):
    use_provider(scripts())
    allowed = {"Rhine", "Tesla"}
    docs = ragloop.retriever({"title": sorted(allowed)}, index_path=str(fake_index), top_n=5).invoke("oxygen")
    assert {d.metadata["title"] for d in docs} == allowed  # Oxygen, the best match, is not among them
    assert ragloop.retriever({"title": "nothing"}, index_path=str(fake_index)).invoke("oxygen") == []


def test_the_graph_takes_a_filter_and_caches_answers_per_filter(use_provider, context):
    from ragloop.graph.builder import graph

    use_provider(scripts())
    ctx = context()
    narrow = graph.invoke({"question": "Where is Normandy?", "filter": {"title": ["Rhine", "Tesla"]}}, context=ctx)
    assert {c["id"] for c in narrow["citations"]} <= {"Rhine", "Tesla"}
    wide = graph.invoke({"question": "Where is Normandy?"}, context=ctx)
    assert "answer_cache" not in wide["compute"]  # not the filtered answer served again
    assert "Normans" in {c["id"] for c in wide["citations"]}


def test_each_reranker_is_a_document_compressor(use_provider):
    use_provider(scripts())
    docs = [Document(page_content=text, metadata={"id": title}) for title, text in FACTS]
    compressor = ragloop.compressor(local_reranker="hybrid-score", top_n=2)
    with pytest.raises(Exception, match="hybrid"):  # the hybrid-score reranker reads retrieval's scores
        compressor.compress_documents(docs, "oxygen")
    from ragloop.providers.rerankers import RerankerCompressor, RetrievalOrder

    kept = RerankerCompressor(reranker=RetrievalOrder(), top_n=2).compress_documents(docs, "oxygen")
    assert [d.metadata["id"] for d in kept] == ["Normans", "Oxygen"]


class ToolCallingFake(GenericFakeChatModel):
    """A scripted chat model an agent can bind tools to."""

    def bind_tools(self, tools, **kwargs):
        return self


def test_the_readme_agent_example_runs_with_the_retriever_and_graph_tools(use_provider, fake_index, monkeypatch):
    use_provider(scripts())
    block = re.search(r"### In an agent\n\n```python\n(.*?)```", README.read_text(), flags=re.S).group(1)
    assert len(block.strip().splitlines()) <= 10
    steps = iter(
        [
            AIMessage("", tool_calls=[{"name": "search_documents", "args": {"query": "oxygen"}, "id": "1"}]),
            AIMessage(
                "", tool_calls=[{"name": "ask_documents", "args": {"question": "Where is Normandy?"}, "id": "2"}]
            ),
            AIMessage("Oxygen has atomic number 8; Normandy is in France."),
        ]
    )
    monkeypatch.setenv("RAGLOOP_INDEX", str(fake_index))
    block = re.sub(r"model=[^\n]*\n", "model=ToolCallingFake(messages=steps),\n", block)
    block = block.replace('index_path="my-index"', "")
    namespace = {"ToolCallingFake": ToolCallingFake, "steps": steps}
    exec(compile(block, "README.md", "exec"), namespace)
    messages = namespace["result"]["messages"]
    tool_results = [m for m in messages if m.type == "tool"]
    assert "Oxygen is a chemical element" in tool_results[0].content
    assert tool_results[0].content.startswith("[1] Oxygen (facts.jsonl)")  # numbered, with its source, to cite
    assert tool_results[0].artifact[0].metadata["id"] == "Oxygen"  # the Documents themselves
    assert tool_results[1].content.startswith("France\nSources: [1] Normans (facts.jsonl)")
    assert messages[-1].content.startswith("Oxygen has atomic number 8")


def test_the_retriever_tool_numbers_passages_with_page_or_section_and_returns_the_documents(use_provider, tmp_path):
    from langchain_core.messages import ToolMessage

    import ragloop
    from ragloop.application.indexing import index_files
    from ragloop.settings import Context

    use_provider(scripts())
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "documents"
    index_files([str(fixtures)], Context(index_path=str(tmp_path / "ix")))
    tool = ragloop.retriever_tool(filter={"source": "handbook.pdf"}, index_path=str(tmp_path / "ix"), rerank=False)
    call = {"name": tool.name, "args": {"query": "office hours"}, "id": "c1", "type": "tool_call"}
    message = tool.invoke(call)
    assert isinstance(message, ToolMessage) and "[1] Company handbook (handbook.pdf, page " in message.content
    assert [d.metadata["source"] for d in message.artifact] == ["handbook.pdf", "handbook.pdf"]
