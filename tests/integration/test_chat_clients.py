"""What a chat client and Studio see through a real `langgraph dev`: input and output schemas for both graphs,
a `messages`-mode stream that carries only the answer (with its usage counted as in a plain run), and the
server's A2A endpoint answering a conversational message."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest

from ragloop.serving.devserver import dev_server

pytestmark = pytest.mark.integration
KEY = "chat-key-51c2"
QUESTION = "What is the atomic number of oxygen?"


@pytest.fixture(scope="module")
def server(tmp_path_factory, small_model_context):
    settings = {"index_path": small_model_context.index_path, "local_chat_model": "smollm2-135m", "local_n_ctx": 4096}
    env = {"RAGLOOP_API_KEYS": KEY, "RAGLOOP_SETTINGS": json.dumps(settings)}
    with dev_server(tmp_path_factory.mktemp("chat") / "server.log", env=env) as url:
        yield url


@pytest.fixture
def context():
    # Both runs are answered, not served from the cache, along the same path (the logprob draft's confidence
    # can land either side of a threshold when the model's prompt cache differs between runs).
    return {"answer_cache_ttl_seconds": 0, "difficulty_estimator": "fixed"}


def tokens_counted(server: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(server + "/ragloop/metrics", timeout=10) as response:
        body = response.read().decode()
    return sum(
        s.value
        for f in text_string_to_metric_families(body)
        for s in f.samples  # input and output: the prompt-cache kinds are a breakdown of input
        if s.name == "ragloop_tokens_total" and s.labels.get("kind") in ("input", "output")
    )


def test_both_graphs_serve_input_and_output_schemas(server):
    from langgraph_sdk import get_client

    async def scenario():
        client = get_client(url=server, api_key=KEY)
        schemas = {}
        for graph_id in ("ragloop", "ragloop_index"):
            assistant = (await client.assistants.search(graph_id=graph_id))[0]
            schemas[graph_id] = await client.assistants.get_schemas(assistant["assistant_id"])
        return schemas

    schemas = asyncio.run(asyncio.wait_for(scenario(), timeout=120))
    assert {"question", "messages"} <= set(schemas["ragloop"]["input_schema"]["properties"])
    assert {"answer", "citations", "messages"} <= set(schemas["ragloop"]["output_schema"]["properties"])
    assert set(schemas["ragloop_index"]["input_schema"]["properties"]) == {"documents", "delete"}
    assert "chunks" in schemas["ragloop_index"]["output_schema"]["properties"]


def test_a_messages_stream_carries_the_answer_token_by_token_and_usage_is_counted(server, context):
    from langgraph_sdk import get_client

    async def scenario():
        client = get_client(url=server, api_key=KEY)
        conversation = {"messages": [{"role": "user", "content": QUESTION}]}
        before = tokens_counted(server)
        streamed, final, events = [], {}, []
        async for part in client.runs.stream(
            None, "ragloop", input=conversation, context=context, stream_mode=["messages-tuple", "values"]
        ):
            assert part.event != "error", part.data
            events.append(part.event)
            if part.event == "messages":
                streamed.append(part.data[0])
            elif part.event == "values":
                final = part.data
        # the answer's chunks arrive while the run goes on: the finish and remember steps' values follow them
        assert events.index("messages") < len(events) - 2 and events[-1] == "values"
        middle = tokens_counted(server)
        plain = await client.runs.wait(None, "ragloop", input=conversation, context=context)
        return streamed, final, plain, middle - before, tokens_counted(server) - middle

    streamed, final, plain, streamed_counted, plain_counted = asyncio.run(asyncio.wait_for(scenario(), timeout=600))
    ai = [m for m in streamed if m.get("type") in ("ai", "AIMessageChunk")]
    assert len(ai) >= 2 and "".join(m["content"] for m in ai).strip() == final["answer"]  # token by token
    answer = final["messages"][-1]
    assert {m["id"] for m in ai} == {answer["id"]}  # one message, completed at the end: nothing internal leaked
    [block] = answer["content"]
    assert block["text"].startswith(final["answer"]) and "**Sources**" in block["text"]
    assert [a["extras"]["n"] for a in block["annotations"]] == [c["n"] for c in final["citations"]]
    assert final["messages"][-1]["response_metadata"]["citations"] == final["citations"]
    assert final["compute"]["tokens"] > 0 and plain["compute"]["tokens"] > 0
    # Every streamed call's usage is counted, in the run's report and the server's counter alike, as in a plain run.
    assert streamed_counted == final["compute"]["tokens"] and plain_counted == plain["compute"]["tokens"]
    assert final["usage"].keys() == plain["usage"].keys()  # the same calls were made and counted


def test_the_a2a_endpoint_answers_a_conversational_message(server, context):
    from langgraph_sdk import get_client

    async def make_assistant():
        client = get_client(url=server, api_key=KEY)
        return await client.assistants.create(graph_id="ragloop", context=context, name="a2a-test")

    assistant = asyncio.run(asyncio.wait_for(make_assistant(), timeout=60))
    body = {
        "jsonrpc": "2.0",
        "id": "1",
        "method": "message/send",
        "params": {"message": {"role": "user", "messageId": "m1", "parts": [{"kind": "text", "text": QUESTION}]}},
    }
    request = urllib.request.Request(
        f"{server}/a2a/{assistant['assistant_id']}",
        data=json.dumps(body).encode(),
        headers={"x-api-key": KEY, "content-type": "application/json", "accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        reply = json.loads(response.read())
    assert "error" not in reply, reply
    text = json.dumps(reply["result"])
    assert "8" in text or "eight" in text.lower(), text[:2000]


def test_a_cancelled_run_frees_the_local_model_for_the_next_one(server, context):
    """Cancelled mid-answer, a run drops its model request: the next run's first token does not wait for the
    cancelled answer to be written out."""
    from langgraph_sdk import get_client

    long_answer = {**context, "generate_max_tokens": 512}  # the served ceiling
    essay = "Write a long essay on everything the passages say about oxygen, chemistry and the elements."

    async def first_token(client, thread, question, ctx, cancel_after: int | None = None):
        started, chunks, run_id = time.perf_counter(), 0, None
        async for part in client.runs.stream(
            thread,
            "ragloop",
            input={"messages": [{"role": "user", "content": question}]},
            context=ctx,
            stream_mode=["messages-tuple"],
        ):
            if part.event == "metadata":
                run_id = part.data["run_id"]
            elif part.event == "messages" and part.data[0].get("content"):
                chunks += 1
                if cancel_after is None:
                    return time.perf_counter() - started, run_id
                if chunks == cancel_after:
                    await client.runs.cancel(thread, run_id)
                    return time.perf_counter(), run_id
        raise AssertionError(f"the run ended after {chunks} answer chunks")

    async def scenario():
        client = get_client(url=server, api_key=KEY)
        alone, _ = await first_token(client, (await client.threads.create())["thread_id"], QUESTION, context)
        first, second = (await client.threads.create())["thread_id"], (await client.threads.create())["thread_id"]
        cancelled_at, run_id = await first_token(client, first, essay, long_answer, cancel_after=5)
        await first_token(client, second, QUESTION, context)
        run = await client.runs.get(first, run_id)
        return alone, time.perf_counter() - cancelled_at, run["status"]

    alone, since_cancel, status = asyncio.run(asyncio.wait_for(scenario(), timeout=600))
    assert status in ("interrupted", "cancelled", "error"), status
    # had the cancelled answer gone on to its 512 tokens, the next run would wait for all of them
    assert since_cancel < alone + 5, (alone, since_cancel)


def test_an_async_parent_receives_the_answers_tokens_as_chat_model_stream_events(small_model_context):
    """The real graph and SmolLM2 as a node of an async MessagesState parent: `astream_events` carries the
    answer's tokens (and only the answer call's) as they are written."""
    from dataclasses import replace

    from langchain_core.messages import HumanMessage
    from langgraph.graph import START, MessagesState, StateGraph

    from ragloop.graph.builder import compile_graph
    from ragloop.settings import Context

    parent = StateGraph(MessagesState, context_schema=Context)
    parent.add_node("rag", compile_graph())
    parent.add_edge(START, "rag")
    ctx = replace(small_model_context, difficulty_estimator="fixed", answer_cache_ttl_seconds=0)

    async def events():
        seen = []
        async for event in parent.compile().astream_events(
            {"messages": [HumanMessage(QUESTION)]}, context=ctx, version="v2"
        ):
            seen.append(event)
        return seen

    seen = asyncio.run(asyncio.wait_for(events(), timeout=600))
    tokens = [e for e in seen if e["event"] == "on_chat_model_stream"]
    assert len(tokens) >= 2 and all("ragloop:answer" in e["tags"] for e in tokens)
    final = next(e for e in reversed(seen) if e["event"] == "on_chain_end" and e["name"] == "LangGraph")
    answer = final["data"]["output"]["messages"][-1]
    assert answer.text.startswith("".join(e["data"]["chunk"].text for e in tokens).strip())
