"""Caching: a repeated query skips retrieve and rerank, a repeated question skips the whole run (the answer
cache), and each misses when anything it depends on changes; the backends from $RAGLOOP_CACHE_URL."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings.fake import DeterministicFakeEmbedding

from ragloop.errors import ConfigError
from ragloop.graph.builder import compile_graph
from ragloop.persistence.backends import open_cache
from ragloop.persistence.memory_cache import BoundedMemoryCache
from ragloop.providers.rerankers import HybridScoreReranker
from ragloop.retrieval.index import update_index
from tests.conftest import reply
from tests.unit.test_graph import scripts

QUESTION = {"question": "In what country is Normandy located?"}
NO_ANSWER_CACHE = {"answer_cache_ttl_seconds": 0}  # the node-cache tests look past the answer cache


class CountingReranker(HybridScoreReranker):
    calls = 0

    def rerank(self, query, documents, top_n):
        CountingReranker.calls += 1
        return super().rerank(query, documents, top_n)


@pytest.fixture
def counted(use_provider, monkeypatch):
    provider = use_provider(scripts())
    CountingReranker.calls = 0
    monkeypatch.setattr(
        type(provider), "reranker", lambda self, ctx: CountingReranker(bm25_weight=ctx.hybrid_score_bm25_weight)
    )
    searches = []
    from ragloop.nodes import retrieve as retrieve_module

    original = retrieve_module.hybrid_search
    monkeypatch.setattr(
        retrieve_module, "hybrid_search", lambda ctx, q, **kw: searches.append(q) or original(ctx, q, **kw)
    )
    return provider, searches


def test_a_repeated_question_is_served_from_the_cache(counted, context):
    provider, searches = counted
    graph = compile_graph(cache=open_cache("memory"))
    first = graph.invoke(QUESTION, context=context(**NO_ANSWER_CACHE))
    second = graph.invoke(QUESTION, context=context(temperature=0.3, **NO_ANSWER_CACHE))  # not a retrieval setting
    assert len(searches) == 1 and CountingReranker.calls == 1
    assert [c["id"] for c in first["citations"]] == [c["id"] for c in second["citations"]]
    assert provider.calls["generate"] == 2  # the answer was made again
    assert first["compute"]["cache"] == {"retrieve": {"hits": 0, "misses": 1}, "rerank": {"hits": 0, "misses": 1}}
    assert second["compute"]["cache"] == {"retrieve": {"hits": 1, "misses": 0}, "rerank": {"hits": 1, "misses": 0}}


@pytest.mark.parametrize(
    "change", [{"k": 6}, {"bm25_weight": 0.9}, {"hybrid_score_bm25_weight": 0.2}, {"cache_ttl_seconds": 0}]
)
def test_a_setting_that_changes_the_result_misses(counted, context, change):
    _, searches = counted
    graph = compile_graph(cache=open_cache("memory"))
    graph.invoke(QUESTION, context=context(**NO_ANSWER_CACHE))
    graph.invoke(QUESTION, context=context(**change, **NO_ANSWER_CACHE))
    assert CountingReranker.calls == 2
    if "hybrid_score_bm25_weight" not in change:
        assert len(searches) == 2


def test_a_new_index_version_misses(counted, context, fake_index):
    _, searches = counted
    graph = compile_graph(cache=open_cache("memory"))
    graph.invoke(QUESTION, context=context(**NO_ANSWER_CACHE))
    update_index(
        fake_index,
        DeterministicFakeEmbedding(size=32),
        "fake-hash-32",
        add=[Document(page_content="Zebras are striped.", metadata={"source": "z.txt", "doc_key": "z"})],
    )
    graph.invoke(QUESTION, context=context(**NO_ANSWER_CACHE))
    assert len(searches) == 2 and CountingReranker.calls == 2


def test_with_caching_off_nothing_is_reused(counted, context):
    _, searches = counted
    graph = compile_graph(cache=open_cache("memory"))
    for _ in range(2):
        graph.invoke(QUESTION, context=context(cache_ttl_seconds=0, **NO_ANSWER_CACHE))
    assert len(searches) == 2 and CountingReranker.calls == 2


# --- the answer cache -----------------------------------------------------------------


def test_a_repeated_question_is_answered_from_the_answer_cache_with_no_model_call(counted, context):
    provider, searches = counted
    graph = compile_graph(cache=open_cache("memory"))
    first = graph.invoke(QUESTION, context=context())
    calls = dict(provider.calls)
    again = graph.invoke({"question": "  in what country is NORMANDY located? "}, context=context(request_timeout=5))
    assert provider.calls == calls and len(searches) == 1  # nothing ran again
    assert again["answer"] == first["answer"] and again["citations"] == first["citations"]
    assert again["compute"]["tokens"] == 0 and again["cost_usd"] == 0.0 and again["usage"] == {}
    assert again["compute"]["answer_cache"]["saved_tokens"] == first["compute"]["tokens"] > 0
    assert again["compute"]["cache"] == {"answer": {"hits": 1, "misses": 0}}
    assert first["compute"]["cache"]["answer"] == {"hits": 0, "misses": 1}


@pytest.mark.parametrize("change", [{"temperature": 0.3}, {"top_n": 3}, {"chat_provider": "local", "seed": 7}])
def test_an_answer_setting_changes_the_answer_cache_key(counted, context, change):
    provider, _ = counted
    graph = compile_graph(cache=open_cache("memory"))
    graph.invoke(QUESTION, context=context())
    graph.invoke(QUESTION, context=context(**change))
    assert provider.calls["generate"] == 2


def test_answers_written_under_other_prompts_are_not_served(counted, context, monkeypatch):
    """A persistent answer cache outlives an upgrade: a changed prompt template must miss it."""
    from langchain_core.prompts import ChatPromptTemplate

    from ragloop.persistence import cache_keys as caching
    from ragloop.prompts import rewrite

    provider, _ = counted
    graph = compile_graph(cache=open_cache("memory"))
    graph.invoke(QUESTION, context=context())
    monkeypatch.setattr(rewrite, "REWRITE_PROMPT", ChatPromptTemplate.from_messages([("human", "{question}?")]))
    caching.prompts_fingerprint.cache_clear()
    try:
        graph.invoke(QUESTION, context=context())
    finally:
        caching.prompts_fingerprint.cache_clear()
    assert provider.calls["generate"] == 2


def test_the_answer_cache_is_off_at_ttl_0_and_expires_after_its_ttl(counted, context):
    provider, _ = counted
    now = [1_000_000.0]
    graph = compile_graph(cache=BoundedMemoryCache(2**20, clock=lambda: now[0]))
    for _ in range(2):
        graph.invoke(QUESTION, context=context(**NO_ANSWER_CACHE))
    assert provider.calls["generate"] == 2
    graph.invoke(QUESTION, context=context(answer_cache_ttl_seconds=60))
    assert provider.calls["generate"] == 3
    graph.invoke(QUESTION, context=context(answer_cache_ttl_seconds=60))
    assert provider.calls["generate"] == 3  # answered from the cache
    now[0] += 61
    graph.invoke(QUESTION, context=context(answer_cache_ttl_seconds=60))
    assert provider.calls["generate"] == 4  # the entry expired


def test_an_answer_from_the_fallback_provider_is_not_cached(use_provider, context):
    def fallback_answer(n):
        message = reply("Normandy is in France [1].")
        message.response_metadata = {"ragloop_fallback": "nvidia->local"}  # as resilience.with_fallback marks it
        return message

    provider = use_provider(scripts(generate=fallback_answer))
    graph = compile_graph(cache=open_cache("memory"))
    for _ in range(2):
        result = graph.invoke(QUESTION, context=context())
    assert result["compute"]["fallbacks"] == {"generate": 1}
    assert provider.calls["generate"] == 2


def test_answers_persist_in_a_sqlite_cache_across_processes(counted, context, tmp_path):
    provider, _ = counted
    url = f"sqlite:///{tmp_path}/cache/cache.sqlite"
    first = compile_graph(cache=open_cache(url)).invoke(QUESTION, context=context())
    again = compile_graph(cache=open_cache(url)).invoke(QUESTION, context=context())  # a new graph, a new connection
    assert provider.calls["generate"] == 1 and again["answer"] == first["answer"]
    assert again["compute"]["cache"] == {"answer": {"hits": 1, "misses": 0}}


@pytest.mark.parametrize(
    "url",
    ["sqlite://relative.sqlite", "memcached://localhost", "file.sqlite", "sqlite:////proc/no-such-folder/cache.sqlite"],
)
def test_an_unusable_cache_url_is_a_clear_error(url):
    with pytest.raises(ConfigError, match="RAGLOOP_CACHE_URL"):
        open_cache(url)


def test_the_memory_cache_is_the_default_and_bounded(monkeypatch):
    monkeypatch.delenv("RAGLOOP_CACHE_URL", raising=False)
    monkeypatch.delenv("RAGLOOP_CACHE_MAX_MIB", raising=False)
    assert open_cache().max_bytes == 256 * 2**20
    monkeypatch.setenv("RAGLOOP_CACHE_MAX_MIB", "16")
    assert open_cache().max_bytes == 16 * 2**20
    for bad in ("0", "lots", "-5"):
        monkeypatch.setenv("RAGLOOP_CACHE_MAX_MIB", bad)
        with pytest.raises(ConfigError, match="RAGLOOP_CACHE_MAX_MIB"):
            open_cache()


def test_the_memory_cache_keeps_to_its_budget_least_recently_used_out():
    now = [0.0]
    cache = BoundedMemoryCache(20_000, clock=lambda: now[0])
    ns = ("retrieve",)
    value = "x" * 3_000  # about 3.2 kB an entry with its overhead
    cache.set({(ns, f"q{i}"): (value, None) for i in range(5)})
    assert len(cache) == 5
    assert cache.get([(ns, "q0")]) == {(ns, "q0"): value}  # q0 is now the most recently used
    cache.set({(ns, f"q{i}"): (value, None) for i in range(5, 9)})
    assert cache.size_bytes <= 20_000
    held = {key for _, key in cache.get([(ns, f"q{i}") for i in range(9)])}
    assert "q0" in held and "q1" not in held and "q8" in held
    assert len(held) == len(cache) < 9

    cache.set({(ns, "big"): ("y" * 50_000, None)})  # larger than the whole budget: not kept, nothing evicted
    assert cache.get([(ns, "big")]) == {} and len(cache) == len(held)

    cache.set({(("answer",), "a"): ("42", 60)})
    now[0] += 61
    assert cache.get([(("answer",), "a")]) == {}
    cache.set({(("answer",), "b"): ("43", 60)})
    cache.clear([ns])
    assert len(cache) == 1 and cache.get([(("answer",), "b")]) == {(("answer",), "b"): "43"}
    cache.clear()
    assert len(cache) == 0 and cache.size_bytes == 0
