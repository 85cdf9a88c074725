"""The whole graph on the real embedded stack (SmolLM2-135M for speed)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ragloop import providers
from ragloop.application.demo import DEMO_QUESTIONS, demo_corpus
from ragloop.application.indexing import index_files
from ragloop.graph.builder import graph
from ragloop.retrieval.index import HybridIndex
from ragloop.retrieval.store import hybrid_search
from ragloop.settings import Context

pytestmark = pytest.mark.integration


def test_real_embedder_finds_the_right_paragraph(demo_index, small_model_context):
    index = HybridIndex.load(demo_index, "all-MiniLM-L6-v2-int8")
    _, embedder = providers.embeddings(small_model_context)
    query = "What is the atomic number of oxygen?"
    for weights in ((1.0, 0.0), (0.0, 1.0), (0.6, 0.4)):
        docs = index.search(
            query, embedder.embed_query(query), 45, bm25_weight=weights[0], dense_weight=weights[1], rrf_c=60
        )
        assert len({d.metadata["id"] for d in docs}) == 45
        assert "Oxygen#p0" in [d.metadata["id"] for d in docs[:5]], weights


def test_parallel_embedding_gives_each_text_its_own_vector_in_order(small_model_context):
    """Texts run through ONNX one at a time on several workers: same vectors as one worker, same order."""
    serial = providers.embeddings(replace(small_model_context, local_threads=1))[1]
    parallel = providers.embeddings(replace(small_model_context, local_threads=3))[1]
    texts = [f"Paragraph {i}: " + "the Normans settled in Normandy. " * (1 + i * 7 % 23) for i in range(17)]
    one, many = np.array(serial.embed_documents(texts)), np.array(parallel.embed_documents(texts))
    assert one.shape == (17, 384)
    np.testing.assert_allclose(many, one, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(parallel.embed_query(texts[5]), one[5], atol=1e-5)
    assert len({tuple(np.round(row, 4)) for row in many}) == 17


def test_local_reranker_keeps_the_answering_paragraph(demo_index, small_model_context):
    index = HybridIndex.load(demo_index)
    _, embedder = providers.embeddings(small_model_context)
    query = "Where did the black death originate?"
    candidates = index.search(query, embedder.embed_query(query), 45, **small_model_context.fusion())
    top = providers.reranker(small_model_context).rerank(query, candidates, 5)
    assert len(top) == 5
    assert "Black_Death#p0" in [d.metadata["id"] for d in top]
    scores = [d.metadata["rerank_score"] for d in top]
    assert scores == sorted(scores, reverse=True)


def test_whole_graph_on_the_real_local_stack(small_model_context):
    ctx = replace(small_model_context, easy_from_draft=False)  # every node, whatever the level
    result = graph.invoke({"question": "What is the atomic number of oxygen?"}, context=ctx)
    assert isinstance(result["answer"], str) and result["answer"].strip()
    assert result["difficulty"]["estimator"] == "logprob"
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


def test_the_draft_answers_an_easy_question_on_the_real_local_stack(small_model_context):
    ctx = replace(small_model_context, easy_from_draft=True, easy_below=1.0, hard_above=1.0)  # every question easy
    result = graph.invoke({"question": "What is the atomic number of oxygen?"}, context=ctx)
    assert result["budget"].get("from_draft") and set(result["usage"]) == {"difficulty"}
    assert result["answer"] == result["difficulty"]["draft"] and result["answer"].strip()
    assert 1 <= len(result["citations"]) <= ctx.difficulty_passages  # the passages it read that hold the answer
    assert all(c["source"] == "squad_demo.json" for c in result["citations"])
    assert result["compute"]["tokens"] == sum(
        result["usage"]["difficulty"][k] for k in ("input_tokens", "output_tokens")
    )


def test_adaptive_compute_on_the_real_local_stack(small_model_context):
    """A hard budget on the real model: parallel samples over two slices, a verifier, refinement, a token cap."""
    ctx = replace(
        small_model_context,
        difficulty_estimator="retrieval",
        retrieval_bias=-20.0,
        hard_docs=6,
        hard_samples=3,
        hard_partitions=2,
        hard_refine_rounds=1,
        selection="verifier",
    )
    free = graph.invoke({"question": "What is the atomic number of oxygen?"}, context=ctx)
    assert free["difficulty"]["level"] == "hard" and "difficulty" not in free["usage"]
    assert free["compute"]["samples"] == 3 and free["compute"]["partitions"] == 2
    assert free["usage"]["generate"]["calls"] == 3
    assert free["compute"]["stop_reason"] in ("converged", "refinement cap", "answered")

    # With a budget that fits grading and about one sample, the run degrades and still answers.
    spent_before_answers = free["usage"]["grade"]["input_tokens"] + free["usage"]["grade"]["output_tokens"]
    cap = spent_before_answers + 2 * free["usage"]["generate"]["input_tokens"] // 3 + 50
    capped = graph.invoke(
        {"question": "What is the atomic number of oxygen?"}, context=replace(ctx, max_tokens_per_query=cap)
    )
    assert capped["answer"].strip()
    assert capped["compute"]["samples"] < 3 and capped["compute"]["degraded"]
    assert capped["compute"]["tokens"] <= cap + ctx.generate_max_tokens + capped["usage"]["generate"]["input_tokens"]


def test_the_demo_questions_on_a_milvus_backend(tmp_path):
    """`ragloop demo`'s questions, the whole graph, with the index in Milvus Lite: only index_path differs."""
    ctx = Context(index_path=f"milvus://{tmp_path}/demo.db", local_chat_model="smollm2-135m", local_n_ctx=4096)
    with demo_corpus() as corpus:
        manifest = index_files([str(corpus)], ctx)
    assert manifest["chunks"] > 10 and manifest["last_update"]["embedded_chunks"] == manifest["chunks"]
    answers = dict(zip(DEMO_QUESTIONS, ("France", "Crimea", "8"), strict=True))
    for question, answer in answers.items():
        assert any(answer in d.page_content for d in hybrid_search(ctx, question)[:5]), question
        result = graph.invoke({"question": question}, context=ctx)
        assert result["answer"].strip()
        assert all(c["source"] == "squad_demo.json" for c in result["citations"])
