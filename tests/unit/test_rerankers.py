"""Rerankers: retrieval order, and the cross-encoder cascade (with a stand-in scoring model)."""

from __future__ import annotations

import math

import pytest
from langchain_core.documents import Document

from ragloop.errors import ConfigError
from ragloop.providers.rerankers import CrossEncoderReranker, HybridScoreReranker, RetrievalOrder


def docs() -> list[Document]:
    # retrieval order a..e; BM25 and cosine favour e, then d, ...; the "model" likes b best.
    return [
        Document(
            page_content=name,
            metadata={"id": name, "retrieval_score": 1 - i / 10, "bm25_score": float(i), "dense_score": i / 10},
        )
        for i, name in enumerate("abcde")
    ]


class LengthOfB:
    """Stands in for fastembed's TextCrossEncoder: scores 'b' high, the others lower the later it reads them;
    records what each call read."""

    def __init__(self):
        self.seen: list[list[str]] = []

    def rerank(self, query, passages, batch_size):
        start = sum(len(call) for call in self.seen)
        self.seen.append(list(passages))
        return [10.0 if p == "b" else -float(start + i) for i, p in enumerate(passages)]


def names(ranked):
    return [d.page_content for d in ranked]


def test_retrieval_order_keeps_the_fused_order():
    assert names(RetrievalOrder().rerank("q", docs(), 3)) == ["a", "b", "c"]


def test_cross_encoder_scores_every_candidate_without_a_cascade():
    model = LengthOfB()
    ranked = CrossEncoderReranker(model, "ce").rerank("q", docs(), 3)
    assert names(ranked) == ["b", "a", "c"]
    assert model.seen == [["a"], ["b"], ["c"], ["d"], ["e"]]  # one pair per call: no padding across passages
    # scores are the model's logits through a sigmoid: in [0, 1], same order
    assert ranked[0].metadata["rerank_score"] == pytest.approx(1 / (1 + math.exp(-10.0)), abs=1e-6)
    assert (
        1
        > ranked[0].metadata["rerank_score"]
        > ranked[1].metadata["rerank_score"]
        > ranked[2].metadata["rerank_score"]
        > 0
    )


def test_cascade_scores_only_the_prefilters_best():
    model = LengthOfB()
    reranker = CrossEncoderReranker(model, "ce").with_cascade(HybridScoreReranker(bm25_weight=0.5), candidates=2)
    ranked = reranker.rerank("q", docs(), 5)
    assert model.seen == [["e"], ["d"]]  # the model read two passages, not five
    assert names(ranked) == ["e", "d", "c", "b", "a"]
    # the unscored rest sit below the scored head, so merging by score keeps the cascade's order
    scores = [d.metadata["rerank_score"] for d in ranked]
    assert scores == sorted(scores, reverse=True) and scores[1] > scores[2]
    assert (
        CrossEncoderReranker(model, "ce").with_cascade(HybridScoreReranker(0.5), candidates=0).rerank("q", [], 5) == []
    )


@pytest.mark.parametrize("weight,order", [(1.0, "bacde"), (0.5, "ebdca"), (0.0, "edcba")])
def test_the_model_and_the_hybrid_score_are_mixed_by_weight(weight, order):
    # the model puts b first, then what it reads first; hybrid-score ranks e, d, c, b, a; mixed halfway
    # (the model reading hybrid-score's order), e keeps the lead and b passes d
    reranker = CrossEncoderReranker(LengthOfB(), "ce").with_cascade(
        HybridScoreReranker(0.5), candidates=0, weight=weight
    )
    assert "".join(names(reranker.rerank("q", docs(), 5))) == order


@pytest.mark.parametrize("candidates,weight", [(2, 1.0), (0, 0.6)])
def test_passages_without_hybrid_scores_get_an_error_naming_the_settings_that_score_them(candidates, weight):
    plain = [Document(page_content=name, metadata={"id": name}) for name in "abc"]
    reranker = CrossEncoderReranker(LengthOfB(), "ce").with_cascade(HybridScoreReranker(0.5), candidates, weight)
    with pytest.raises(ConfigError, match="cross_encoder_candidates=0 and cross_encoder_weight=1"):
        reranker.rerank("q", plain, 3)
    alone = CrossEncoderReranker(LengthOfB(), "ce").with_cascade(HybridScoreReranker(0.5), candidates=0, weight=1.0)
    assert names(alone.rerank("q", plain, 3)) == ["b", "a", "c"]


def test_a_cross_encoder_folder_without_a_model_is_named(tmp_path):
    from ragloop import providers
    from ragloop.errors import ConfigError
    from ragloop.settings import Context

    with pytest.raises(ConfigError, match="folder holding model.onnx"):
        providers.reranker(Context(local_reranker="cross-encoder", local_reranker_path=str(tmp_path)))


class ByLetter:
    """A cross-encoder whose score is a function of the passage alone (as a real model's is)."""

    def rerank(self, query, passages, batch_size):
        return [float("abcde".index(p)) for p in passages]


def test_workers_score_the_same_as_one_thread_in_the_same_order():
    documents = docs()
    alone = CrossEncoderReranker(ByLetter(), "ce", workers=1).rerank("q", documents, 5)
    pooled = CrossEncoderReranker(ByLetter(), "ce", workers=3).rerank("q", documents, 5)
    assert [(d.page_content, d.metadata["rerank_score"]) for d in alone] == [
        (d.page_content, d.metadata["rerank_score"]) for d in pooled
    ]
