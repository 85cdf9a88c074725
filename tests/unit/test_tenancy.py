"""Per-key tenancy: each key indexes into and is answered from its own documents; nothing crosses keys,
not a search result, a citation, a cached answer, nor a delete."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings.fake import DeterministicFakeEmbedding

from ragloop.graph.builder import graph
from ragloop.graph.indexing import index_graph
from ragloop.retrieval.index import HybridIndex, update_index
from tests.unit.test_graph import scripts

ALICE, BOB = "key-alice", "key-bob"


def as_key(identity: str) -> dict:
    """The config a LangGraph server gives a run its auth handler authenticated."""
    return {"configurable": {"langgraph_auth_user_id": identity}}


def test_sources_of_the_same_name_belong_to_their_tenants(tmp_path):
    index, fake = tmp_path / "ix", DeterministicFakeEmbedding(size=32)

    def zebra(text: str) -> list[Document]:
        return [Document(page_content=text, metadata={"source": "zebra.txt", "doc_key": "zebra.txt"})]

    update_index(index, fake, "fake", add=zebra("Alice's zebras are striped."), tenant=ALICE)
    update_index(index, fake, "fake", add=zebra("Bob's zebras are spotted."), tenant=BOB)
    update_index(index, fake, "fake", add=zebra("Alice's zebras are tall."), tenant=ALICE)  # replaces hers only
    texts = {(d.metadata["tenant"], d.page_content) for d in HybridIndex.load(index).documents}
    assert texts == {(ALICE, "Alice's zebras are tall."), (BOB, "Bob's zebras are spotted.")}
    update_index(index, fake, "fake", delete_sources=["zebra.txt"], tenant=BOB)
    assert [d.metadata["tenant"] for d in HybridIndex.load(index).documents] == [ALICE]
    with pytest.raises(Exception, match="Nothing indexed comes from zebra.txt"):
        update_index(index, fake, "fake", delete_sources=["zebra.txt"], tenant=BOB)


def test_a_key_is_answered_only_from_its_own_documents(use_provider, context):
    use_provider(scripts())
    ctx = context(tenancy="per-key")
    secret = {"source": "secret.txt", "text": "The vault code of Alice is 7731 in Normandy."}
    index_graph.invoke({"documents": [secret]}, context=ctx, config=as_key(ALICE))
    question = {"question": "What is the vault code in Normandy?"}
    alice = graph.invoke(question, context=ctx, config=as_key(ALICE))
    assert "secret.txt" in {c["source"] for c in alice["citations"]} | {c["id"] for c in alice["citations"]}
    bob = graph.invoke(question, context=ctx, config=as_key(BOB))
    assert "answer_cache" not in bob["compute"]  # Alice's cached answer is not Bob's
    assert not bob["citations"] and "Not found" in bob["answer"]  # Bob has no documents of his own
    index_graph.invoke(
        {"documents": [{"source": "b.txt", "text": "Bob's notes on Normandy."}]}, context=ctx, config=as_key(BOB)
    )
    bob = graph.invoke(question, context=ctx, config=as_key(BOB))
    assert {c["source"] for c in bob["citations"]} == {"b.txt"}


def test_shared_tenancy_answers_every_key_from_the_one_collection(use_provider, context):
    use_provider(scripts())
    ctx = context()  # tenancy="shared": the default
    out = graph.invoke({"question": "In what country is Normandy located?"}, context=ctx, config=as_key(BOB))
    assert out["citations"] and out["citations"][0]["source"] == "facts.jsonl"
