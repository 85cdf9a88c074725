"""Incremental indexing: add, replace and delete by source; only new text is embedded; crashes and readers are safe."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from langchain_core.embeddings.fake import DeterministicFakeEmbedding

from ragloop.errors import InputError
from ragloop.retrieval.index import HybridIndex, build_index, update_index
from ragloop.retrieval.versions import versions_dir
from tests.conftest import CountingEmbedding, doc, fact_documents


@pytest.fixture
def index(tmp_path):
    path = tmp_path / "index"
    build_index(fact_documents(), DeterministicFakeEmbedding(size=32), "fake", path)
    return path


def search_ids(path, query):
    ix = HybridIndex.load(path)
    return [
        d.metadata["source"]
        for d in ix.search(
            query,
            DeterministicFakeEmbedding(size=32).embed_query(query),
            3,
            bm25_weight=1.0,
            dense_weight=0.0,
            rrf_c=60,
        )
    ]


def test_adding_a_source_embeds_only_its_chunks(index):
    embedder = CountingEmbedding(size=32, embedded=[])
    manifest = update_index(index, embedder, "fake", add=[doc("zebra.txt", "Zebras have black and white stripes.")])
    assert embedder.embedded == ["Zebras have black and white stripes."]
    assert manifest["last_update"] == {
        "added_chunks": 1,
        "removed_chunks": 0,
        "embedded_chunks": 1,
        "reused_vectors": 0,
    }
    assert search_ids(index, "zebras stripes")[0] == "zebra.txt"
    loaded = HybridIndex.load(index)
    assert len(loaded) == 9 and len(loaded.segments) == 2  # the eight facts' segment is kept as it was


def test_a_changed_source_replaces_its_chunks_and_a_rebuild_reuses_unchanged_vectors(index):
    update_index(index, DeterministicFakeEmbedding(size=32), "fake", add=[doc("zebra.txt", "Zebras are striped.")])
    embedder = CountingEmbedding(size=32, embedded=[])
    update_index(index, embedder, "fake", add=[doc("zebra.txt", "Zebras live in Africa.")])
    texts = [d.page_content for d in HybridIndex.load(index).documents]
    assert "Zebras live in Africa." in texts and "Zebras are striped." not in texts
    assert embedder.embedded == ["Zebras live in Africa."]
    embedder.embedded.clear()
    build_index(fact_documents(), embedder, "fake", index)  # exactly the facts again: nothing new to embed
    assert embedder.embedded == [] and len(HybridIndex.load(index)) == 8


def test_deleting_a_source_removes_it_from_bm25_and_faiss(index):
    source = "zebra.txt"
    update_index(
        index,
        DeterministicFakeEmbedding(size=32),
        "fake",
        add=[doc(source, "Zebras have stripes."), doc("yak.txt", "Yaks have long hair.")],
    )
    before = HybridIndex.load(index)
    gone = [d.page_content for d in before.documents if d.metadata["source"] == source]
    manifest = update_index(index, DeterministicFakeEmbedding(size=32), "fake", delete_sources=[source])
    after = HybridIndex.load(index)
    assert len(after) == len(list(after.documents)) == len(before) - len(gone)
    vector = DeterministicFakeEmbedding(size=32).embed_query("Zebras have stripes.")
    for weights in ({"bm25_weight": 1.0, "dense_weight": 0.0}, {"bm25_weight": 0.0, "dense_weight": 1.0}):
        found = after.search("zebras stripes", vector, 45, rrf_c=60, **weights)
        assert len(found) == len(after) and source not in {d.metadata["source"] for d in found}
    assert source not in manifest["sources"] and not any(d.page_content in gone for d in after.documents)
    with pytest.raises(InputError, match="Nothing indexed comes from"):
        update_index(index, DeterministicFakeEmbedding(size=32), "fake", delete_sources=["nowhere.txt"])


def test_a_reader_keeps_its_version_while_a_writer_publishes_the_next(index):
    reader = HybridIndex.load(index)
    old_version = index.resolve()
    update_index(index, DeterministicFakeEmbedding(size=32), "fake", add=[doc("zebra.txt", "Zebras.")])
    assert old_version.exists() and index.resolve() != old_version  # the old version is still on disk
    vector = DeterministicFakeEmbedding(size=32).embed_query("Normandy")
    assert len(reader.search("Normandy", vector, 3, bm25_weight=0.6, dense_weight=0.4, rrf_c=60)) == 3
    assert len(HybridIndex.load(index)) == len(reader) + 1
    update_index(index, DeterministicFakeEmbedding(size=32), "fake", add=[doc("yak.txt", "Yaks.")])
    assert not old_version.exists()  # two versions back: removed
    assert len(list(versions_dir(index).glob("v-*"))) == 2


CRASH = textwrap.dedent("""
    import os, sys
    from langchain_core.documents import Document
    from langchain_core.embeddings.fake import DeterministicFakeEmbedding
    from ragloop.retrieval import index as ix

    where = sys.argv[2]
    if where == "embedding":
        class Dying(DeterministicFakeEmbedding):
            def embed_documents(self, texts):
                os._exit(9)
        embedder = Dying(size=32)
    else:
        embedder = DeterministicFakeEmbedding(size=32)
        real = ix.SegmentWriter.finish
        def die(*args, **kwargs):
            real(*args, **kwargs)
            os._exit(9)  # killed with the new segment written, the manifest not yet
        ix.SegmentWriter.finish = die
    docs = [Document(page_content="Zebras have stripes.", metadata={"source": "zebra.txt", "doc_key": "zebra.txt"})]
    ix.update_index(sys.argv[1], embedder, "fake", add=docs)
""")


@pytest.mark.parametrize("where", ["embedding", "writing"])
def test_a_writer_killed_mid_update_leaves_the_index_whole(index, where):
    before = HybridIndex.load(index).manifest
    done = subprocess.run(
        [sys.executable, "-c", CRASH, str(index), where],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.returncode == 9, done.stderr
    assert HybridIndex.load(index).manifest == before  # loads, checksums pass, nothing half-written shows
    update_index(index, DeterministicFakeEmbedding(size=32), "fake", add=[doc("yak.txt", "Yaks.")])
    assert not list(versions_dir(index).glob("tmp-*"))  # the next writer cleared the crashed one's folder
    assert len(HybridIndex.load(index)) == len(fact_documents()) + 1


def test_an_index_written_as_a_plain_folder_moves_to_versions(tmp_path, index):
    import shutil

    legacy = tmp_path / "legacy"
    shutil.copytree(index.resolve(), legacy)
    update_index(legacy, DeterministicFakeEmbedding(size=32), "fake", add=[doc("zebra.txt", "Zebras.")])
    assert legacy.is_symlink() and len(HybridIndex.load(legacy)) == 9


def test_the_cli_adds_lists_and_deletes(tmp_path, monkeypatch, capsys, index):
    from ragloop import providers
    from ragloop.cli import main
    from tests.conftest import FakeProvider

    monkeypatch.setitem(providers.PROVIDERS, "local", FakeProvider({}))
    monkeypatch.setenv("RAGLOOP_INDEX", str(index))
    monkeypatch.setattr(FakeProvider, "embeddings", lambda self, ctx: ("fake", DeterministicFakeEmbedding(size=32)))
    note = tmp_path / "note.md"
    note.write_text("Quokkas live on Rottnest Island.")
    assert main(["index", "--add", str(note)]) == 0
    assert "1 chunks added, 0 removed, 1 embedded" in capsys.readouterr().err
    assert main(["index", "--list"]) == 0
    assert capsys.readouterr().out.split() == ["facts.jsonl", "note.md"]
    assert main(["index", "--delete", "note.md"]) == 0
    assert main(["index", "--delete", "note.md"]) == 2
    assert "Nothing indexed comes from" in capsys.readouterr().err


def test_adding_with_other_settings_refuses_rather_than_dropping_the_other_sources(index):
    before = HybridIndex.load(index).manifest
    with pytest.raises(InputError, match="use the same settings"):
        update_index(index, DeterministicFakeEmbedding(size=32), "fake", add=[doc("z.txt", "Zebras.")], chunk_size=99)
    with pytest.raises(InputError, match="use the same settings"):
        update_index(index, DeterministicFakeEmbedding(size=32), "other-embedder", add=[doc("z.txt", "Zebras.")])
    assert HybridIndex.load(index).manifest == before


def test_an_adds_progress_knows_its_total_from_the_first_batch(tmp_path, monkeypatch):
    from ragloop.retrieval import index as ix

    index = tmp_path / "index"
    build_index(fact_documents(), DeterministicFakeEmbedding(size=32), "fake", index)
    monkeypatch.setattr(ix, "STREAM_BATCH", 2)  # the six new chunks are embedded two at a time
    heard: list[tuple[int, int]] = []
    add = [doc(f"n{i}.txt", f"New fact number {i} about okapis.") for i in range(6)]
    update_index(index, DeterministicFakeEmbedding(size=32), "fake", add=add, progress=lambda *p: heard.append(p))
    assert heard[-1] == (6, 6) and {total for _, total in heard} == {6}, heard
