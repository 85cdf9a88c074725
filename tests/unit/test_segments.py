"""The local index's parts: BM25 postings scored across segments, filter columns, merges, the approximate
dense index, and Milvus filter expressions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.embeddings.fake import DeterministicFakeEmbedding

from ragloop.retrieval import index as ix
from ragloop.retrieval.bm25 import K1, B, Postings, analyse, idf_weights
from ragloop.retrieval.index import HybridIndex, build_index, update_index
from ragloop.retrieval.milvus import expression
from tests.conftest import FACTS, fact_documents

EMBEDDER = DeterministicFakeEmbedding(size=32)


def by_hand(query: str, corpus: list[str]) -> list[float]:
    """Okapi BM25 with Lucene's idf, straight from the formula."""
    docs = [analyse(t) for t in corpus]
    avgdl = sum(map(len, docs)) / len(docs)
    scores = []
    for terms in docs:
        score = 0.0
        for q in analyse(query):
            df = sum(q in d for d in docs)
            tf = terms.count(q)
            if tf:
                idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(terms) / avgdl))
        scores.append(score)
    return scores


def test_bm25_scores_are_the_formula_and_segments_do_not_change_them():
    corpus = [text for _, text in FACTS] + ["The Rhine and the Rhine delta, river after river."]
    query = "river Rhine in France"
    whole = Postings.build([analyse(t) for t in corpus])
    parts = [Postings.build([analyse(t) for t in corpus[:4]]), Postings.build([analyse(t) for t in corpus[4:]])]
    avgdl = sum(len(analyse(t)) for t in corpus) / len(corpus)
    expected = by_hand(query, corpus)
    assert whole.scores(idf_weights(query, [whole], len(corpus)), avgdl) == pytest.approx(expected, rel=1e-5)
    split = np.concatenate([p.scores(idf_weights(query, parts, len(corpus)), avgdl) for p in parts])
    assert split == pytest.approx(expected, rel=1e-5)


def test_postings_round_trip_through_npy_files(tmp_path):
    postings = Postings.build([analyse(t) for _, t in FACTS])
    postings.save(tmp_path)
    loaded = Postings.load(tmp_path)
    weights = idf_weights("oxygen atomic number", [loaded], len(FACTS))
    assert loaded.scores(weights, 10.0) == pytest.approx(postings.scores(weights, 10.0))
    assert not list(tmp_path.glob("*.pkl"))


def test_filters_read_columns_and_fall_back_to_documents(fake_index):
    index = HybridIndex.load(fake_index)
    titles = [
        index.document(i).metadata["title"] for i in np.flatnonzero(index.matching({"title": ["Oxygen", "Rhine"]}))
    ]
    assert sorted(titles) == ["Oxygen", "Rhine"]
    assert np.flatnonzero(index.matching({"id": "Warsaw"})).tolist() == [6]  # `id` is no column: read from the chunk
    assert not index.matching({"colour": "blue"}).any() and index.matching({"colour": None}).all()


def test_many_small_updates_are_merged(tmp_path):
    path = tmp_path / "index"
    build_index(fact_documents(), EMBEDDER, "fake", path)
    for n in range(ix.MAX_SEGMENTS + 2):
        doc = Document(
            page_content=f"Note number {n} about zebras.", metadata={"source": f"n{n}.md", "doc_key": f"n{n}.md"}
        )
        update_index(path, EMBEDDER, "fake", add=[doc])
        assert len(HybridIndex.load(path).segments) <= ix.MAX_SEGMENTS
    index = HybridIndex.load(path)
    assert len(index) == len(FACTS) + ix.MAX_SEGMENTS + 2
    found = index.search("zebras note", EMBEDDER.embed_query("zebras"), 45, bm25_weight=1.0, dense_weight=0.0, rrf_c=60)
    assert {d.metadata["source"] for d in found[: ix.MAX_SEGMENTS + 2]} == {
        f"n{n}.md" for n in range(ix.MAX_SEGMENTS + 2)
    }


def test_deleting_a_quarter_of_the_chunks_compacts_the_index(tmp_path):
    path = tmp_path / "index"
    docs = [
        Document(page_content=f"Fact {i}.", metadata={"source": f"{i % 4}.md", "doc_key": f"{i}"}) for i in range(40)
    ]
    build_index(docs, EMBEDDER, "fake", path)
    update_index(path, EMBEDDER, "fake", delete_sources=["0.md"])
    index = HybridIndex.load(path)
    assert len(index) == 30 and index.live.all() and len(index.segments) == 1  # rewritten without the dead chunks


def test_a_large_segment_searches_approximately_and_close_to_exact(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((40, 32))
    vectors = centres[rng.integers(0, 40, 3000)] + 0.3 * rng.standard_normal((3000, 32))

    class Clustered(DeterministicFakeEmbedding):
        def embed_documents(self, texts):
            return [vectors[int(t.split()[1])].tolist() for t in texts]

    docs = [
        Document(page_content=f"chunk {i} words", metadata={"source": f"s{i % 50}", "doc_key": f"{i}"})
        for i in range(3000)
    ]
    build_index(docs, Clustered(size=32), "fake", tmp_path / "index", ann_threshold=1000)
    index = HybridIndex.load(tmp_path / "index")
    assert index.segments[0].ann is not None and (index.segments[0].folder / "ann.faiss").exists()
    recall = []
    for q in vectors[:20] + 0.1:
        unit, approx = index.dense_search(q, 45, None, probes=32)
        exact = np.argsort(-(np.stack([index.segments[0].vectors[i] for i in range(3000)]) @ unit))[:45]
        recall.append(len(set(approx) & set(exact.tolist())) / 45)
    assert np.mean(recall) >= 0.95
    allowed = index.matching({"source": ["s1", "s2"]})
    _, filtered = index.dense_search(vectors[1], 45, allowed)
    assert filtered and all(index.document(i).metadata["source"] in ("s1", "s2") for i in filtered)


def test_an_index_built_batch_by_batch_from_a_generator_is_the_one_built_at_once(tmp_path, monkeypatch):
    """A build streams: documents from a generator are chunked, embedded and written a few at a time, and
    every file of the segment is the one a single-batch build writes."""
    docs = [
        Document(page_content=f"Fact {i}: {text}", metadata={"source": f"s{i % 4}.md", "doc_key": f"{i}", **extra})
        for i, (text, extra) in enumerate(
            (text, {"page": i} if i % 3 else {"tag": "x"}) for i, (_, text) in enumerate(FACTS * 3)
        )
    ]
    at_once = build_index(docs, EMBEDDER, "fake", tmp_path / "at-once")
    monkeypatch.setattr(ix, "STREAM_BATCH", 4)
    heard = []
    streamed = build_index(
        (d for d in docs), EMBEDDER, "fake", tmp_path / "streamed", progress=lambda *p: heard.append(p)
    )
    assert streamed["chunks"] == at_once["chunks"] == len(docs)
    assert streamed["last_update"] == at_once["last_update"]
    assert heard[-1] == (len(docs), len(docs))
    files = at_once["segments"][0]["sha256"]
    assert streamed["segments"][0]["sha256"] == files and {"codes.npy", "docs.npy", "vectors.npy"} <= set(files)
    assert len(HybridIndex.load(tmp_path / "streamed")) == len(docs)


def test_milvus_expressions():
    assert (
        expression({"tenant": None, "source": ["a.md", 'b"c.md']})
        == r'(tenant == "" and source in ["a.md", "b\"c.md"])'
    )
    assert expression({"title": ["A", "B"]}) == '(metadata["title"] == "A" or metadata["title"] == "B")'
    assert expression({"year": 2020, "draft": False}) == '(metadata["year"] == 2020 and metadata["draft"] == false)'
    assert expression({"title": None}) == 'not exists metadata["title"]'
    assert expression({"page": {"$gte": 2, "$lt": 5}}) == '(metadata["page"] >= 2 and metadata["page"] < 5)'
    assert expression({"$or": [{"source": {"$ne": "a.md"}}, {"title": {"$nin": ["A"]}}]}) == (
        '((source != "" and source != "a.md") or (exists metadata["title"] and not (metadata["title"] == "A")))'
    )
    assert expression(None) == ""
