"""`langgraph dev` serves the exported graph offline; the SDK streams a run and reads the thread back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.error
import urllib.request

import pytest

from ragloop.serving.devserver import dev_server
from tests.servers.milvus import milvus_server

pytestmark = pytest.mark.integration
KEY = "test-key-7f3a"


def deployment(index_path: str) -> dict[str, str]:
    """The operator's deployment settings, in the server's environment (a run may not set them)."""
    settings = {"index_path": index_path, "local_chat_model": "smollm2-135m", "local_n_ctx": 4096}
    return {"RAGLOOP_API_KEYS": f"{KEY},second-key", "RAGLOOP_SETTINGS": json.dumps(settings)}


@pytest.fixture
def server(tmp_path, small_model_context):
    with dev_server(tmp_path / "server.log", env=deployment(small_model_context.index_path)) as url:
        yield url


def test_dev_server_streams_a_run_and_keeps_thread_state(server, small_model_context):
    from langgraph_sdk import get_client

    async def scenario():
        client = get_client(url=server, api_key=KEY)
        assistants = await client.assistants.search(graph_id="ragloop")
        assert assistants, "the ragloop graph is not registered"
        thread = await client.threads.create()
        context = {"easy_from_draft": False}  # every node streams, whatever the level
        nodes = []
        async for part in client.runs.stream(
            thread["thread_id"],
            "ragloop",
            input={"question": "What is the atomic number of oxygen?"},
            context=context,
            stream_mode="updates",
        ):
            assert part.event != "error", part.data
            if part.event == "updates":
                nodes.extend(part.data)
        state = await client.threads.get_state(thread["thread_id"])
        # The same question on another thread: the server's graph answers it from its answer cache.
        again = await client.runs.wait(
            None, "ragloop", input={"question": "What is the atomic number of oxygen?"}, context=context
        )
        return nodes, state["values"], again

    nodes, values, again = asyncio.run(asyncio.wait_for(scenario(), timeout=600))
    assert nodes[0] == "intake" and nodes[-2:] == ["finish", "remember"]
    assert {"retrieve", "rerank", "difficulty", "grade", "plan", "generate", "select"} <= set(nodes)
    assert values["answer"].strip()
    assert values["usage"]["difficulty"]["input_tokens"] > 0
    assert values["budget"]["docs"] >= 1
    assert again["answer"] == values["answer"] and again["usage"] == {}
    assert again["compute"]["cache"] == {"answer": {"hits": 1, "misses": 0}}


@pytest.mark.parametrize("backend", ["local", "milvus"])
def test_the_indexing_graph_runs_on_the_server_and_both_graphs_show_the_context_form(tmp_path, backend):
    """The same server on either index backend, one deployment setting apart (Milvus: a real Milvus Lite
    server on loopback)."""
    from langgraph_sdk import get_client

    with contextlib.ExitStack() as stack:
        index = str(tmp_path / "served-index")
        if backend == "milvus":
            index = stack.enter_context(milvus_server()).url
        _index_and_ask_on_the_server(tmp_path, index, get_client)


def _index_and_ask_on_the_server(tmp_path, index: str, get_client) -> None:

    async def scenario(server):
        client = get_client(url=server, api_key=KEY)
        schemas = {}
        for graph_id in ("ragloop", "ragloop_index"):
            assistant = (await client.assistants.search(graph_id=graph_id))[0]
            schemas[graph_id] = await client.assistants.get_schemas(assistant["assistant_id"])
        docs = [
            {"source": "zebra.txt", "text": "Zebras have black and white stripes."},
            {"source": "okapi.txt", "text": "The okapi is a relative of the giraffe."},
        ]
        added = await client.runs.wait(None, "ragloop_index", input={"documents": docs})
        deleted = await client.runs.wait(None, "ragloop_index", input={"delete": ["okapi.txt"]})
        bad = await client.runs.wait(
            None, "ragloop_index", input={"documents": [{"text": "no source"}]}, raise_error=False
        )
        asked = await client.runs.wait(None, "ragloop", input={"question": "What colour are zebras' stripes?"})
        return schemas, added, deleted, bad, asked

    operator = {**deployment(index), "RAGLOOP_ADMIN_KEYS": KEY}  # changing the shared index is the operator's
    with dev_server(tmp_path / "server.log", env=operator) as server:
        schemas, added, deleted, bad, asked = asyncio.run(asyncio.wait_for(scenario(server), timeout=300))
        status, summary = http(f"{server}/index", KEY)
    assert status == 200 and json.loads(summary)["sources"] == ["zebra.txt"]
    assert asked["answer"].strip() and {c["source"] for c in asked["citations"]} <= {"zebra.txt"}
    for schema in schemas.values():
        fields = schema["context_schema"]["properties"]
        assert {"index_path", "chunk_size"} <= set(fields) and fields["chunk_size"].get("description")
    assert added["chunks"] == 2 and added["update"]["embedded_chunks"] == 2
    assert deleted["chunks"] == 1
    assert "needs a non-empty" in str(bad)


def http(url: str, key: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"x-api-key": key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_server_refuses_requests_without_a_valid_key_and_serves_metrics(server):
    from prometheus_client.parser import text_string_to_metric_families

    assert http(server + "/threads/00000000-0000-0000-0000-000000000000")[0] == 401
    status, body = http(server + "/threads/00000000-0000-0000-0000-000000000000", "wrong-key")
    assert status == 403 and "wrong-key" not in body
    assert http(server + "/threads/00000000-0000-0000-0000-000000000000", "second-key")[0] == 404  # in, no thread
    status, body = http(server + "/ragloop/metrics")
    assert status == 200
    names = {f.name for f in text_string_to_metric_families(body)}
    assert {"ragloop_runs", "ragloop_node_seconds", "ragloop_tokens"} <= names
    status, body = http(server + "/health")
    assert status in (200, 503) and '"checks"' in body


def test_the_upload_parser_does_not_outlive_a_server_that_dies(tmp_path, small_model_context):
    """A server killed outright (no shutdown) leaves no parsing process behind holding its memory."""
    import base64
    import os
    import shutil
    import signal
    import time
    from pathlib import Path

    from ragloop.serving.devserver import server_tree

    index = tmp_path / "index"
    shutil.copytree(small_model_context.index_path, index)
    env = {**deployment(str(index)), "RAGLOOP_ADMIN_KEYS": KEY}
    with dev_server(tmp_path / "server.log", env=env) as url:
        body = {"documents": [{"source": "note.txt", "base64": base64.b64encode(b"A short note.").decode()}]}
        request = urllib.request.Request(
            url + "/index/documents",
            data=json.dumps(body).encode(),
            headers={"x-api-key": KEY, "content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            assert response.status == 202
        port = int(url.rsplit(":", 1)[1])

        def cmdline(pid: int) -> str:
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")

        [worker] = [pid for pid in server_tree(port) if "multiprocessing.spawn" in cmdline(pid)]
        server = int(Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[1])
        os.kill(server, signal.SIGKILL)  # the process that started the parser dies without a word
        deadline = time.monotonic() + 10
        while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not Path(f"/proc/{worker}").exists() or "(Z)" in Path(f"/proc/{worker}/stat").read_text()
