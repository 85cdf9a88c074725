"""The index backend contract, on every implementation: ragloop's local index, LanceDB (an embedded table in
a folder) and Milvus (Milvus Lite as an embedded file and as a real gRPC server on loopback, started here)."""

from __future__ import annotations

import time

import pytest
from langchain_core.embeddings.fake import DeterministicFakeEmbedding

from ragloop.errors import IndexLoadError, InputError
from ragloop.retrieval.lance import LanceBackend
from ragloop.retrieval.local import LocalBackend
from ragloop.retrieval.milvus import MilvusBackend
from ragloop.serving.devserver import free_port
from tests.conftest import FACTS, CountingEmbedding, doc, fact_documents
from tests.servers.milvus import milvus_server

EMBEDDER = DeterministicFakeEmbedding(size=32)
FUSION = {"bm25_weight": 0.6, "dense_weight": 0.4, "rrf_c": 60, "probes": 32}


@pytest.fixture(scope="module")
def server():
    with milvus_server() as running:
        yield running


def make(kind: str, tmp_path, server, embedder_name: str = "fake"):
    if kind == "local":
        return LocalBackend(str(tmp_path / "index"), 50_000, embedder_name)
    if kind == "lancedb":
        return LanceBackend(f"lancedb://{tmp_path}/lance", 50_000, embedder_name)
    if kind == "milvus-file":
        return MilvusBackend(f"milvus://{tmp_path}/milvus.db", "facts", embedder_name)
    return MilvusBackend(server.url, f"facts_{tmp_path.name[-12:].replace('-', '_')}", embedder_name)


@pytest.fixture(params=["local", "lancedb", "milvus-file", "milvus-server"])
def kind(request):
    return request.param


@pytest.fixture
def index(kind, tmp_path, request):
    server = request.getfixturevalue("server") if kind == "milvus-server" else None
    backend = make(kind, tmp_path, server)
    backend.update(EMBEDDER, "fake", add=fact_documents(), replace_all=True)
    return backend


def search(index, query, k=8, where=None, **fusion):
    return index.search(query, EMBEDDER.embed_query(query), k, where=where, **{**FUSION, **fusion})


@pytest.mark.parametrize("k", [3, 8])
def test_search_returns_k_unique_candidates_with_every_score(index, k):
    found = search(index, "Normandy France", k)
    ids = [d.metadata["id"] for d in found]
    assert len(ids) == k == len(set(ids))
    assert all({"bm25_score", "dense_score", "retrieval_score"} <= set(d.metadata) for d in found)
    bm25 = {d.metadata["id"]: d.metadata["bm25_score"] for d in found}
    assert bm25["Normans"] > 0 and all(score == 0 for id_, score in bm25.items() if id_ != "Normans")
    assert [d.metadata["retrieval_score"] for d in found] == sorted(
        (d.metadata["retrieval_score"] for d in found), reverse=True
    )


def test_each_retriever_alone_ranks_its_own_match_first(index):
    assert search(index, "atomic number of oxygen", 3, bm25_weight=1.0, dense_weight=0.0)[0].metadata["id"] == "Oxygen"
    text = dict(FACTS)["Warsaw"]  # the fake embedder gives a text its own vector: cosine 1
    best = search(index, text, 3, bm25_weight=0.0, dense_weight=1.0)[0]
    assert best.metadata["id"] == "Warsaw" and best.metadata["dense_score"] == pytest.approx(1.0, abs=1e-3)


def test_filters_keep_to_matching_chunks(index):
    found = search(index, "river city", 8, where={"source": "facts.jsonl", "title": ["Oxygen", "Rhine"]})
    assert sorted(d.metadata["id"] for d in found) == ["Oxygen", "Rhine"]
    assert search(index, "river", 8, where={"title": "Atlantis"}) == []
    assert len(search(index, "river", 8, where={"colour": None})) == 8  # no chunk has a colour
    assert search(index, "river", 8, where={"colour": "blue"}) == []


def test_tenants_see_and_change_only_their_own_documents(index):
    index.update(EMBEDDER, "fake", add=[doc("z.md", "Zebras of tenant a.")], tenant="a")
    index.update(EMBEDDER, "fake", add=[doc("z.md", "Zebras of tenant b.")], tenant="b")
    for tenant in ("a", "b"):
        found = search(index, "zebras", 8, where={"tenant": tenant})
        assert [d.page_content for d in found] == [f"Zebras of tenant {tenant}."]
        assert index.summary(tenant)["sources"] == ["z.md"]
    assert "z.md" not in {d.metadata["source"] for d in search(index, "zebras", 8, where={"tenant": None})}
    index.update(EMBEDDER, "fake", delete_sources=["z.md"], tenant="a")
    assert search(index, "zebras", 8, where={"tenant": "a"}) == []
    assert [d.page_content for d in search(index, "zebras", 8, where={"tenant": "b"})] == ["Zebras of tenant b."]


def test_sources_are_added_replaced_and_deleted(index):
    counting = CountingEmbedding(size=32, embedded=[])
    added = index.update(counting, "fake", add=[doc("z.md", "Zebras have stripes.")])
    assert added["last_update"]["added_chunks"] == 1 and counting.embedded == ["Zebras have stripes."]
    assert search(index, "zebras stripes", 1)[0].page_content == "Zebras have stripes."
    counting.embedded.clear()
    index.update(counting, "fake", add=[doc("z.md", "Zebras live in Africa.")])
    assert counting.embedded == ["Zebras live in Africa."]  # only the new text is embedded
    texts = [d.page_content for d in search(index, "zebras", 9)]
    assert "Zebras live in Africa." in texts and "Zebras have stripes." not in texts
    assert index.summary(None)["sources"] == ["facts.jsonl", "z.md"]
    deleted = index.update(EMBEDDER, "fake", delete_sources=["z.md"])
    assert deleted["chunks"] == len(FACTS) and deleted["last_update"]["removed_chunks"] == 1
    assert "z.md" not in {d.metadata["source"] for d in search(index, "zebras", 9)}
    with pytest.raises(InputError, match="Nothing indexed comes from nowhere.md"):
        index.update(EMBEDDER, "fake", delete_sources=["nowhere.md"])
    rebuilt = index.update(EMBEDDER, "fake", add=[doc("y.md", "Yaks are shaggy.")], replace_all=True)
    assert rebuilt["chunks"] == 1 and rebuilt["last_update"]["removed_chunks"] == len(FACTS)


def test_an_index_of_another_embedder_is_refused_by_name(kind, tmp_path, request, index):
    server = request.getfixturevalue("server") if kind == "milvus-server" else None
    other = make(kind, tmp_path, server, embedder_name="other-embedder")
    with pytest.raises(IndexLoadError, match="fake") as refused:
        other.search("rivers", EMBEDDER.embed_query("rivers"), 3, where=None, **FUSION)
    assert "other-embedder" in str(refused.value) or kind == "local"


def test_an_unreachable_milvus_is_one_clear_error():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(IndexLoadError, match=f"Milvus at {url} is unreachable"):
        MilvusBackend(url, "facts", "fake").search("rivers", EMBEDDER.embed_query("rivers"), 3, where=None, **FUSION)
    assert time.monotonic() - started < 30


def test_a_restarted_milvus_server_is_reconnected(server, tmp_path):
    backend = make("milvus-server", tmp_path, server)
    backend.update(EMBEDDER, "fake", add=fact_documents(), replace_all=True)
    assert search(backend, "oxygen", 1)[0].metadata["id"] == "Oxygen"
    server.stop()
    server.start()
    assert search(backend, "oxygen", 1)[0].metadata["id"] == "Oxygen"  # same client object, new connection


LIBRARY = [  # title, metadata beside source and title; a missing key is a chunk without that field
    ("A", {"year": 1999, "rating": 4.5, "lang": "en", "draft": False}),
    ("B", {"year": 2005, "rating": 3.0, "lang": "fr", "draft": True}),
    ("C", {"year": 2010, "lang": "en"}),
    ("D", {"year": 2021, "rating": 5.0, "draft": False}),
    ("E", {"rating": 2.0, "lang": "de"}),
    ("F", {"year": 2015, "rating": 4.0, "lang": "en", "draft": True}),
]
#: One table of LangChain-style filters, each with the titles it keeps, for every backend alike.
FILTERS = [
    ({"year": {"$gte": 2005, "$lt": 2016}}, "BCF"),
    ({"year": {"$gt": 2010}}, "DF"),
    ({"rating": {"$lte": 3.0}}, "BE"),
    ({"lang": {"$in": ["en", "de"]}}, "ACEF"),
    ({"lang": {"$nin": ["en"]}}, "BE"),  # a comparison needs the field: D has no lang
    ({"lang": {"$ne": "en"}}, "BE"),
    ({"lang": {"$eq": "fr"}}, "B"),
    ({"rating": {"$exists": False}}, "C"),
    ({"draft": {"$exists": True}}, "ABDF"),
    ({"draft": True}, "BF"),
    ({"lang": None}, "D"),
    ({"$or": [{"year": {"$lt": 2000}}, {"lang": "de"}]}, "AE"),
    ({"$and": [{"lang": "en"}, {"rating": {"$gt": 4.1}}]}, "A"),
    ({"title": ["A", "B"], "year": {"$gt": 2000}}, "B"),
    ({"source": {"$ne": "library.jsonl"}}, ""),
    ({"source": {"$in": ["library.jsonl"]}, "title": {"$gte": "E"}}, "EF"),
    ({"$or": [{"source": "other.md"}, {"$and": [{"year": {"$gte": 2015}}, {"draft": False}]}]}, "D"),
]


@pytest.fixture(params=["local", "lancedb", "milvus-file"])
def library(request, tmp_path):
    from langchain_core.documents import Document

    backend = make(request.param, tmp_path, None)
    docs = [
        Document(
            page_content=f"Book {title} of the library, about rivers and cities.",
            metadata={"source": "library.jsonl", "doc_key": title, "title": title, **extra},
        )
        for title, extra in LIBRARY
    ]
    backend.update(EMBEDDER, "fake", add=docs, replace_all=True)
    return backend


@pytest.mark.parametrize(("where", "kept"), FILTERS, ids=[str(w) for w, _ in FILTERS])
def test_langchain_filter_operators_keep_the_same_chunks_on_every_backend(library, where, kept):
    found = search(library, "library rivers cities", 20, where=where)
    assert "".join(sorted(d.metadata["title"] for d in found)) == kept


@pytest.mark.parametrize(
    ("where", "named"),
    [
        ({"year": {"$regex": "19.*"}}, "Unknown filter operator '$regex'"),
        ({"$not": {"year": 1999}}, "Unknown filter operator '$not'"),
        ({"year": {"$in": 1999}}, "$in on 'year' takes a list of values"),
        ({"$or": {"year": 1999}}, "$or takes a non-empty list of filters"),
        ({"year": {"$gt": None}}, "$gt on 'year' takes a number or text"),
        ({"year": {}}, "names no operator"),
    ],
)
def test_a_malformed_filter_is_one_sentence_naming_it(library, where, named):
    with pytest.raises(InputError) as refused:
        search(library, "library", 20, where=where)
    assert named in str(refused.value)
