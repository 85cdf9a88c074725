"""Fusion, the index round trip, refusal of bad indexes, and the file loaders."""

from __future__ import annotations

import gzip
import json

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings.fake import DeterministicFakeEmbedding

from ragloop.errors import IndexLoadError, InputError
from ragloop.retrieval.fusion import weighted_rrf
from ragloop.retrieval.index import FORMAT_VERSION, HybridIndex, build_index
from ragloop.retrieval.loaders import load_documents
from ragloop.retrieval.versions import versions_dir
from tests.conftest import FACTS, fact_documents


def test_weighted_rrf_by_hand():
    fused = dict(weighted_rrf([(["a", "b", "c"], 0.4), (["c", "a"], 0.6)], c=60))
    assert fused["a"] == pytest.approx(0.4 / 61 + 0.6 / 62)
    assert fused["c"] == pytest.approx(0.4 / 63 + 0.6 / 61)
    assert fused["b"] == pytest.approx(0.4 / 62)
    assert [k for k, _ in weighted_rrf([(["a", "b", "c"], 0.4), (["c", "a"], 0.6)], c=60)] == [
        "a",
        "c",
        "b",
    ]  # 0.016234 > 0.016185 > 0.006452


@pytest.mark.parametrize("k", [1, 3, 8, 45])
def test_search_returns_k_unique_candidates_with_scores(fake_index, k):
    index = HybridIndex.load(fake_index, "fake-hash-32")
    query = "Normandy France"
    docs = index.search(
        query, DeterministicFakeEmbedding(size=32).embed_query(query), k, bm25_weight=0.6, dense_weight=0.4, rrf_c=60
    )
    ids = [d.metadata["id"] for d in docs]
    assert len(ids) == min(k, len(FACTS)) == len(set(ids))
    assert all({"bm25_score", "dense_score", "retrieval_score"} <= set(d.metadata) for d in docs)


def test_bm25_only_search_puts_the_lexical_match_first(fake_index):
    index = HybridIndex.load(fake_index)
    docs = index.search("atomic number of oxygen", [0.1] * 32, 3, bm25_weight=1.0, dense_weight=0.0, rrf_c=60)
    assert docs[0].metadata["id"] == "Oxygen"


def test_index_round_trip(fake_index):
    index = HybridIndex.load(fake_index, "fake-hash-32")
    assert len(index) == len(FACTS)
    assert {d.metadata["id"] for d in index.documents} == {t for t, _ in FACTS}
    assert index.manifest["embedder"] == "fake-hash-32" and index.manifest["format_version"] == FORMAT_VERSION
    assert not list(fake_index.parent.glob(".index.tmp-*"))


def test_corrupt_index_is_refused(fake_index):
    (segment,) = HybridIndex.load(fake_index).segments
    with open(segment.folder / "documents.jsonl", "a") as fh:
        fh.write('{"id": "evil"}\n')
    with pytest.raises(IndexLoadError, match="corrupt"):
        HybridIndex.load(fake_index)


def test_unreadable_manifest_and_missing_index(fake_index, tmp_path):
    with pytest.raises(IndexLoadError, match="No ragloop index"):
        HybridIndex.load(tmp_path / "absent")
    (fake_index / "manifest.json").write_text("{not json")
    with pytest.raises(IndexLoadError, match="unreadable"):
        HybridIndex.load(fake_index)


def test_version_and_embedder_mismatch_are_refused(fake_index):
    with pytest.raises(IndexLoadError, match="embedded with 'fake-hash-32'"):
        HybridIndex.load(fake_index, "all-MiniLM-L6-v2-int8")
    manifest = json.loads((fake_index / "manifest.json").read_text())
    manifest["format_version"] = 99
    (fake_index / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexLoadError, match="format version 99"):
        HybridIndex.load(fake_index)


def test_a_failed_rebuild_leaves_the_old_index_whole(fake_index):
    class Broken(DeterministicFakeEmbedding):
        def embed_documents(self, texts):
            raise RuntimeError("embedder died")

    before = (fake_index / "manifest.json").read_text()
    changed = [Document(page_content=d.page_content + " Changed.", metadata=d.metadata) for d in fact_documents()]
    with pytest.raises(RuntimeError):
        build_index(changed, Broken(size=32), "fake-hash-32", fake_index)
    assert (fake_index / "manifest.json").read_text() == before
    HybridIndex.load(fake_index)
    assert not list(versions_dir(fake_index).glob("tmp-*"))


def test_rebuild_replaces_the_index(fake_index):
    docs = fact_documents()[:3]
    build_index(docs, DeterministicFakeEmbedding(size=32), "fake-hash-32", fake_index)
    assert len(HybridIndex.load(fake_index)) == 3


def test_long_documents_are_chunked_with_unique_ids(tmp_path):
    text = " ".join(f"Sentence {i} about the river Rhine and its bridges." for i in range(400))
    (tmp_path / "rhine.txt").write_text(text)
    docs = load_documents([tmp_path / "rhine.txt"])
    manifest = build_index(
        docs, DeterministicFakeEmbedding(size=8), "fake", tmp_path / "ix", chunk_size=100, chunk_overlap=10
    )
    index = HybridIndex.load(tmp_path / "ix")
    ids = [d.metadata["id"] for d in index.documents]
    assert manifest["chunks"] == len(ids) == len(set(ids)) > 10
    assert ids[0] == "rhine.txt:0"


def test_loaders_read_every_supported_format(tmp_path):
    (tmp_path / "a.txt").write_text("Plain text.")
    (tmp_path / "b.md").write_text("# Title\nMarkdown text.")
    (tmp_path / "c.jsonl").write_text('{"id": "c1", "text": "JSON line", "author": "x"}\n\n{"content": "second"}\n')
    (tmp_path / "d.json").write_text(json.dumps([{"text": "record one"}, "bare string"]))
    squad = {
        "version": "1.1",
        "data": [{"title": "Rhine", "paragraphs": [{"context": "The Rhine is a river.", "qas": []}]}],
    }
    with gzip.open(tmp_path / "e.json.gz", "wt") as fh:
        json.dump(squad, fh)
    (tmp_path / "ignored.csv").write_text("a,b")
    docs = load_documents([tmp_path])
    keys = [d.metadata["doc_key"] for d in docs]
    assert keys == ["a.txt", "b.md#s1", "c1", "c.jsonl#3", "d.json#1", "d.json#2", "Rhine#p0"]
    assert docs[1].metadata["section"] == "Title"  # a Markdown file's sections carry their heading path
    assert docs[2].metadata["author"] == "x"
    assert docs[-1].metadata["title"] == "Rhine"


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("bad.json", "{oops", "not valid JSON"),
        ("bad.jsonl", '{"text": "ok"}\n{oops\n', "line 2"),
        ("empty.txt", "   ", "no text"),
        ("rec.json", '[{"title": "no text field"}]', "no text field"),
        ("notes.pdf", "binary", "not a readable PDF"),
        ("notes.epub", "binary", "unsupported type"),
    ],
)
def test_bad_files_get_clear_errors(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(InputError, match=message):
        load_documents([tmp_path / name])


def test_missing_path_is_named(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_documents([tmp_path / "nope"])
