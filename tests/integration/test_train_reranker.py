"""The reranker training recipe end to end on a tiny sample: mine, train, export int8 ONNX, load, score."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from langchain_core.documents import Document

pytestmark = pytest.mark.integration


def test_recipe_runs_end_to_end_on_a_tiny_sample(tmp_path):
    pytest.importorskip("torch", reason="the `train` extra is not installed (make setup-train)")
    from ragloop.providers.rerankers import CrossEncoderReranker
    from ragloop.training.reranker import TrainSettings, train

    corpus = str(resources.files("ragloop.demo_corpus").joinpath("squad_demo.json"))
    settings = TrainSettings(
        train=[corpus],
        questions_per_file=8,
        negatives=3,
        easy_negatives=1,
        layers=1,
        max_length=64,
        batch_groups=4,
        validate=corpus,
        validate_questions=5,
    )
    record = train(settings, tmp_path / "model", tmp_path / "indexes")
    assert record["groups"] == 8 and record["steps"] == 2
    assert record["data"][0]["sha256"] and record["settings"]["seed"] == 0
    assert set(record["validation"]["metrics"]) == {
        "bm25",
        "hybrid+hybrid-score",
        "hybrid+cross-encoder-alone",
        "hybrid+cross-encoder",
    }
    card = (tmp_path / "model" / "MODEL_CARD.md").read_text()
    assert "Apache-2.0" in card and "CC BY-SA 4.0" in card and "hybrid+cross-encoder" in card
    saved = json.loads((tmp_path / "model" / "training.json").read_text())
    assert saved["settings"] == record["settings"]
    onnx = tmp_path / "model" / "model.onnx"
    assert 1_000_000 < onnx.stat().st_size < 40_000_000  # int8: tens of MB at most
    reranker = CrossEncoderReranker.from_folder(str(tmp_path / "model"))
    docs = [Document(page_content=t) for t in ("Oxygen has atomic number 8.", "", "é" * 10_000)]
    ranked = reranker.rerank("What is the atomic number of oxygen?", docs, 3)
    assert sorted(d.page_content for d in ranked) == sorted(d.page_content for d in docs)
    assert all(isinstance(d.metadata["rerank_score"], float) for d in ranked)
