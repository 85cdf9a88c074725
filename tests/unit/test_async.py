"""Async all the way: awaited nodes await their calls, a cancelled run stops them, and the retriever, the
compressor and both tools have async paths that give what the sync ones give."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

import ragloop
from ragloop.graph.builder import graph
from ragloop.providers.rerankers import RerankerCompressor, RetrievalOrder
from tests.conftest import StreamingFake, reply
from tests.unit.test_graph import scripts

QUESTION = "In what country is Normandy located?"


def test_an_awaited_run_awaits_its_model_calls_and_a_sync_run_calls_them_in_place(use_provider, context):
    ways: list[str] = []

    class Recording(StreamingFake):
        def invoke(self, *args, **kwargs):
            ways.append("invoke")
            return super().invoke(*args, **kwargs)

        async def ainvoke(self, *args, **kwargs):
            ways.append("ainvoke")
            return await super().ainvoke(*args, **kwargs)

    use_provider(scripts()).model_class = Recording
    ctx = context(answer_cache_ttl_seconds=0)
    sync = graph.invoke({"question": QUESTION}, context=ctx)
    assert set(ways) == {"invoke"}
    ways.clear()
    awaited = asyncio.run(graph.ainvoke({"question": QUESTION}, context=ctx))
    assert set(ways) == {"ainvoke"} and awaited["answer"] == sync["answer"]
    assert awaited["compute"]["tokens"] == sync["compute"]["tokens"] > 0


class Endless(GenericFakeChatModel):
    """A model that never finishes: it records when its call is cancelled."""

    cancelled: threading.Event

    async def _agenerate(self, *args, **kwargs):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def test_cancelling_an_awaited_run_cancels_the_model_call_it_waits_on(use_provider, context):
    cancelled = threading.Event()
    provider = use_provider(scripts())
    provider.chat_model = lambda ctx, **kw: Endless(messages=iter([]), cancelled=cancelled)

    async def scenario():
        run = asyncio.create_task(graph.ainvoke({"question": QUESTION}, context=context(answer_cache_ttl_seconds=0)))
        await asyncio.sleep(0.5)  # retrieve, rerank, then the difficulty draft waits on the model
        assert not run.done()
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    assert cancelled.wait(1.0)


def test_the_retriever_and_compressor_give_the_same_documents_awaited(use_provider, fake_index):
    use_provider(scripts())
    search = ragloop.retriever(index_path=str(fake_index))
    sync = search.invoke("oxygen atomic number")
    awaited = asyncio.run(search.ainvoke("oxygen atomic number"))
    assert [d.metadata["id"] for d in awaited] == [d.metadata["id"] for d in sync] and sync
    compressor = RerankerCompressor(reranker=RetrievalOrder(), top_n=2)
    kept = asyncio.run(compressor.acompress_documents(sync, "oxygen"))
    assert kept == compressor.compress_documents(sync, "oxygen")


def test_both_tools_answer_when_awaited(use_provider, fake_index, monkeypatch):
    monkeypatch.setenv("RAGLOOP_INDEX", str(fake_index))
    use_provider(scripts(generate=lambda n: reply("France")))
    search, ask = ragloop.retriever_tool(), ragloop.graph_tool(answer_cache_ttl_seconds=0)
    content, docs = asyncio.run(search.coroutine("oxygen"))
    assert content.startswith("[1] Oxygen (facts.jsonl)") and docs[0].metadata["id"] == "Oxygen"
    assert asyncio.run(ask.ainvoke({"question": QUESTION})).startswith("France")
