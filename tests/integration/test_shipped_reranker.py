"""The cross-encoder shipped in models/: its checksum, and that it ranks real passages sensibly."""

from __future__ import annotations

from importlib import resources

import pytest
from langchain_core.documents import Document

from ragloop import providers
from ragloop.benchmarks.datasets import load_dataset
from ragloop.benchmarks.harness import make_variants
from ragloop.benchmarks.retrieval import presets
from ragloop.fileutil import sha256_file
from ragloop.providers.local_models import RERANKER_ONNX_SHA256, shipped_reranker_folder
from ragloop.settings import Context

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def reranker():
    # the model alone on every passage: these passages carry no hybrid scores to prefilter or mix
    return providers.reranker(Context(cross_encoder_candidates=0, cross_encoder_weight=1.0))


def test_the_shipped_file_matches_its_pinned_checksum():
    folder = shipped_reranker_folder()
    assert sha256_file(folder / "model.onnx") == RERANKER_ONNX_SHA256
    assert (folder / "MODEL_CARD.md").is_file() and (folder / "training.json").is_file()
    assert 1_000_000 < (folder / "model.onnx").stat().st_size < 50_000_000


def test_a_changed_file_is_refused_with_the_fix(monkeypatch):
    from ragloop.errors import ModelError
    from ragloop.providers import local_models

    monkeypatch.setattr(local_models, "RERANKER_ONNX_SHA256", "0" * 64)
    with pytest.raises(ModelError, match="fails its checksum; reinstall ragloop"):
        shipped_reranker_folder()


def test_it_is_the_default_local_reranker(reranker):
    assert reranker.name.startswith("local/cross-encoder")
    # and the retrieval benchmark's default pipelines compare it with the model-free scorer
    names = [v.name for v in make_variants(presets(Context()), {})]
    assert names == [
        "bm25",
        "dense",
        "hybrid",
        "hybrid+local-hybrid-score",
        "hybrid+local-cross-encoder-minilm-l6-squad-reranker",
    ]


def test_source_paragraph_outranks_other_articles_on_real_squad_questions(reranker):
    with resources.as_file(resources.files("ragloop.demo_corpus").joinpath("squad_demo.json")) as path:
        data = load_dataset(path)
    by_key = {d.metadata["doc_key"]: d for d in data.documents}
    articles = {}
    for q in data.questions:
        articles.setdefault(next(iter(q.relevant)).split("#")[0], q)
    assert len(articles) == 4
    for article, q in articles.items():
        source = by_key[next(iter(q.relevant))]
        others = [by_key[f"{other}#p0"] for other in articles if other != article]
        ranked = reranker.rerank(q.text, [*others, source], 4)
        assert ranked[0].page_content == source.page_content, q.text


@pytest.mark.parametrize(
    "passage",
    ["", "x" * 10_000, "word " * 3_000, "Le château se trouve à Zürich — 東京 ❤"],
)
def test_edge_case_passages_are_scored_without_error(reranker, passage):
    docs = [Document(page_content="Oxygen has the atomic number 8."), Document(page_content=passage)]
    ranked = reranker.rerank("What is the atomic number of oxygen?", docs, 2)
    assert len(ranked) == 2
    assert all(isinstance(d.metadata["rerank_score"], float) for d in ranked)
    assert ranked[0].page_content == "Oxygen has the atomic number 8."


def test_forty_five_candidates_in_batches(reranker):
    docs = [Document(page_content=f"Passage {i} about the Rhine river and its towns.") for i in range(44)]
    docs.append(Document(page_content="Warsaw is the capital and largest city of Poland."))
    ranked = reranker.rerank("What is the capital of Poland?", docs, 5)
    assert len(ranked) == 5 and ranked[0].page_content.startswith("Warsaw")


def test_a_passages_score_does_not_depend_on_the_passages_beside_it(reranker):
    """One (query, passage) pair per ONNX call, on parallel workers: each passage's score is its own. Scored
    in one padded batch, the int8 model's dynamic quantisation (one activation scale per batch) and the
    padding move every score with its batch mates (by up to 0.25 in logit here)."""
    import numpy as np

    texts = [
        "The Normans were the people who gave their name to Normandy, a region in France.",
        "Oxygen is a chemical element with symbol O and atomic number 8.",
        "Warsaw is the capital and largest city of Poland, on the Vistula river, with about 1.8 million people.",
        "Rivers.",
    ]
    query = "In what country is Normandy located?"
    alone = [next(iter(reranker._encoder.rerank(query, [text], batch_size=1))) for text in texts]
    assert reranker.workers >= 1 and reranker.logits(query, texts) == pytest.approx(alone, abs=1e-5)
    assert reranker.logits(query, texts[::-1]) == pytest.approx(alone[::-1], abs=1e-5)  # order changes nothing
    batched = np.fromiter(reranker._encoder.rerank(query, texts, batch_size=len(texts)), dtype=np.float64)
    assert np.abs(batched - np.asarray(alone)).max() > 1e-3  # what one padded batch did
