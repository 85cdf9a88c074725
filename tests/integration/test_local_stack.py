"""The whole graph on the real embedded stack (SmolLM2-135M for speed)."""

from __future__ import annotations

import pytest

from ragloop import providers
from ragloop.graph.builder import graph
from ragloop.retrieval.index import HybridIndex

pytestmark = pytest.mark.integration


def test_real_embedder_finds_the_right_paragraph(demo_index, small_model_context):
    index = HybridIndex.load(demo_index, "all-MiniLM-L6-v2-int8")
    _, embedder = providers.embeddings(small_model_context)
    query = "What is the atomic number of oxygen?"
    for weights in ((1.0, 0.0), (0.0, 1.0), (0.4, 0.6)):
        docs = index.search(query, embedder.embed_query(query), 45, bm25_weight=weights[0], dense_weight=weights[1])
        assert len({d.metadata["id"] for d in docs}) == 45
        assert "Oxygen#p0" in [d.metadata["id"] for d in docs[:5]], weights


def test_local_reranker_keeps_the_answering_paragraph(demo_index, small_model_context):
    index = HybridIndex.load(demo_index)
    _, embedder = providers.embeddings(small_model_context)
    query = "Where did the black death originate?"
    candidates = index.search(query, embedder.embed_query(query), 45)
    top = providers.reranker(small_model_context).rerank(query, candidates, 5)
    assert len(top) == 5
    assert "Black_Death#p0" in [d.metadata["id"] for d in top]
    scores = [d.metadata["rerank_score"] for d in top]
    assert scores == sorted(scores, reverse=True)


def test_whole_graph_on_the_real_local_stack(small_model_context):
    result = graph.invoke({"question": "What is the atomic number of oxygen?"}, context=small_model_context)
    assert isinstance(result["answer"], str) and result["answer"].strip()
    assert result["difficulty"]["signal"] == "logprob"
    assert 0.0 <= result["difficulty"]["confidence"] <= 1.0
    assert result["budget"]["docs"] >= 1
    usage = result["usage"]
    assert usage["difficulty"]["input_tokens"] > 100 and usage["difficulty"]["output_tokens"] >= 1
    assert usage["grade"]["calls"] >= 1 and usage["grade"]["input_tokens"] > 100
    for citation in result["citations"]:
        assert citation["id"] and citation["source"] == "squad_demo.json"
    if result["citations"]:
        assert usage["generate"]["output_tokens"] >= 1
    assert set(result["timings"]) >= {"difficulty", "retrieve", "rerank", "grade", "generate"}
