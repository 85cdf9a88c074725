"""Node caching: a repeated query skips retrieve and rerank, and misses when anything they depend on changes."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings.fake import DeterministicFakeEmbedding
from langgraph.cache.memory import InMemoryCache

from ragloop.graph.builder import compile_graph
from ragloop.providers.rerankers import HybridScoreReranker
from ragloop.retrieval.index import update_index
from tests.unit.test_graph import scripts

QUESTION = {"question": "In what country is Normandy located?"}


class CountingReranker(HybridScoreReranker):
    calls = 0

    def rerank(self, query, documents, top_n):
        CountingReranker.calls += 1
        return super().rerank(query, documents, top_n)


@pytest.fixture
def counted(use_provider, monkeypatch):
    provider = use_provider(scripts())
    CountingReranker.calls = 0
    monkeypatch.setattr(type(provider), "reranker", lambda self, ctx: CountingReranker(bm25_weight=ctx.hybrid_score_bm25_weight))
    searches = []
    from ragloop.nodes import retrieve as retrieve_module

    original = retrieve_module.hybrid_search
    monkeypatch.setattr(retrieve_module, "hybrid_search", lambda ctx, q: searches.append(q) or original(ctx, q))
    return provider, searches


def test_a_repeated_question_is_served_from_the_cache(counted, context):
    provider, searches = counted
    graph = compile_graph(cache=InMemoryCache())
    first = graph.invoke(QUESTION, context=context())
    second = graph.invoke(QUESTION, context=context(temperature=0.3))  # not a retrieval setting
    assert len(searches) == 1 and CountingReranker.calls == 1
    assert [c["id"] for c in first["citations"]] == [c["id"] for c in second["citations"]]
    assert provider.calls["generate"] == 2  # answers are not cached


@pytest.mark.parametrize("change", [{"k": 6}, {"bm25_weight": 0.9}, {"hybrid_score_bm25_weight": 0.2},
                                    {"cache_ttl_seconds": 0}])
def test_a_setting_that_changes_the_result_misses(counted, context, change):
    _, searches = counted
    graph = compile_graph(cache=InMemoryCache())
    graph.invoke(QUESTION, context=context())
    graph.invoke(QUESTION, context=context(**change))
    assert CountingReranker.calls == 2
    if "hybrid_score_bm25_weight" not in change:
        assert len(searches) == 2


def test_a_new_index_version_misses(counted, context, fake_index):
    _, searches = counted
    graph = compile_graph(cache=InMemoryCache())
    graph.invoke(QUESTION, context=context())
    update_index(fake_index, DeterministicFakeEmbedding(size=32), "fake-hash-32",
                 add=[Document(page_content="Zebras are striped.", metadata={"source": "z.txt", "doc_key": "z"})])
    graph.invoke(QUESTION, context=context())
    assert len(searches) == 2 and CountingReranker.calls == 2


def test_with_caching_off_nothing_is_reused(counted, context):
    _, searches = counted
    graph = compile_graph(cache=InMemoryCache())
    for _ in range(2):
        graph.invoke(QUESTION, context=context(cache_ttl_seconds=0))
    assert len(searches) == 2 and CountingReranker.calls == 2
