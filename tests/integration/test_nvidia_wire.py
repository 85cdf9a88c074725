"""The NVIDIA provider on the wire: the real langchain-nvidia-ai-endpoints clients against a local NIM stand-in.

Chat, embeddings and rerank all go over HTTP to 127.0.0.1; faults are injected by
the server and must be retried (transient) or fall back (configured), and the run
reports which.
"""

from __future__ import annotations

import time

import pytest

from ragloop.graph.builder import compile_graph
from ragloop.settings import Context
from tests.conftest import fact_documents, reply
from tests.integration.conftest import FAST_RETRY, index_facts_through
from tests.servers.nim import FakeNimServer

pytest.importorskip("langchain_nvidia_ai_endpoints")
pytestmark = pytest.mark.integration

CHAT, EMBED, RERANK = "meta/llama-3.1-8b-instruct", "nvidia/nv-embedqa-e5-v5", "nvidia/llama-3.2-nv-rerankqa-1b-v2"
QUESTION = {"question": "In what country is Normandy located?"}


@pytest.fixture
def nim():
    with FakeNimServer(models=(CHAT, EMBED, RERANK), hang_seconds=4.0) as server:
        yield server


@pytest.fixture
def nvidia_context(nim, tmp_path):
    """Everything on NVIDIA: the index embedded through /v1/embeddings, then a Context that talks only to nim."""
    ctx = Context(
        index_path=str(tmp_path / "index"),
        chat_provider="nvidia",
        embedding_provider="nvidia",
        rerank_provider="nvidia",
        nvidia_base_url=nim.url,
        nvidia_chat_model=CHAT,
        nvidia_rerank_model=RERANK,
        difficulty_estimator="verbal",
        request_timeout=1.0,
        easy_from_draft=False,
    )  # every role goes over the wire, whatever the level
    return index_facts_through(ctx, nim)


def test_the_whole_graph_runs_on_nvidia_endpoints(nim, graph, nvidia_context):
    result = graph.invoke(QUESTION, context=nvidia_context)
    assert result["answer"] == "France" and result["citations"]
    assert result["difficulty"] == {**result["difficulty"], "estimator": "verbal", "level": "easy"}
    assert nim.calls("/embeddings") == 1 and nim.calls("/ranking") == 1 and nim.calls("/chat/completions") >= 3
    ranking = next(body for path, body, _ in nim.requests if path.endswith("/ranking"))
    assert (
        ranking["model"] == RERANK
        and ranking["truncate"] == "END"
        and len(ranking["passages"]) == len(fact_documents())
    )
    assert {body["model"] for path, body, _ in nim.requests if path.endswith("/chat/completions")} == {CHAT}
    assert result["usage_by_model"][CHAT]["calls"] == sum(u["calls"] for u in result["usage"].values())
    assert result["compute"]["retries"] == {} and result["compute"]["fallbacks"] == {}


@pytest.mark.parametrize(
    ("path", "faults", "node"),
    [
        ("/v1/ranking", ("429",), "rerank"),
        ("/v1/embeddings", ("503", "500"), "retrieve"),
        ("/v1/chat/completions", ("drop",), "difficulty"),
    ],
)
def test_transient_faults_are_retried_and_reported(nim, graph, nvidia_context, path, faults, node):
    nim.fail(path, *faults)
    result = graph.invoke(QUESTION, context=nvidia_context)
    assert result["answer"] == "France"
    assert result["compute"]["retries"] == {node: len(faults)}


def test_a_hung_call_times_out_at_the_configured_timeout_and_is_retried(nim, graph, nvidia_context):
    nim.fail("/v1/chat/completions", "timeout")
    started = time.perf_counter()
    result = graph.invoke(QUESTION, context=nvidia_context)
    assert time.perf_counter() - started < nim.hang_seconds  # it did not wait for the hung response
    assert result["compute"]["retries"] == {"difficulty": 1} and result["answer"] == "France"


def test_retries_give_up_after_the_policy_and_the_error_names_the_status(nim, graph, nvidia_context):
    nim.fail("/v1/ranking", "429", "429", "429")
    with pytest.raises(Exception, match=r"\[429\]"):
        graph.invoke(QUESTION, context=nvidia_context)
    assert nim.calls("/ranking") == FAST_RETRY.max_attempts


def test_a_malformed_response_is_not_retried_but_falls_back_when_configured(nim, graph, nvidia_context, use_provider):
    from dataclasses import replace

    nim.fail("/v1/chat/completions", "malformed")
    with pytest.raises(Exception, match="(?i)json|expect"):
        graph.invoke(QUESTION, context=nvidia_context)
    assert nim.calls("/chat/completions") == 1  # not retried: it would fail the same way

    local = use_provider({"difficulty": lambda n: reply("Answer: France\nConfidence: 90")})
    nim.fail("/v1/chat/completions", "malformed")
    result = graph.invoke(QUESTION, context=replace(nvidia_context, fallback_chat_provider="local"))
    assert result["answer"] == "France"
    assert local.calls == {"difficulty": 1}
    assert result["compute"]["fallbacks"] == {"difficulty": 1}
    assert result["usage"]["difficulty"]["fallbacks"] == 1


def test_a_reply_cut_short_falls_back_in_messages_mode(nim, graph, nvidia_context, use_provider):
    """In messages mode the internal calls are made whole and only the answer's call streams, its usage
    counted from the stream; a truncated reply still falls back; the client sees only the answer."""
    from dataclasses import replace

    local = use_provider({"difficulty": lambda n: reply("Answer: France\nConfidence: 90")})
    nim.fail("/v1/chat/completions", "drop")  # the connection dies before the reply is whole
    final, tokens = None, 0
    ctx = replace(nvidia_context, fallback_chat_provider="local")
    for mode, chunk in graph.stream(QUESTION, context=ctx, stream_mode=["messages", "values"]):
        if mode == "messages":
            tokens += 1
        else:
            final = chunk
    assert nim.calls("/chat/completions") >= 3 and tokens > 0
    streamed = [body for path, body, _ in nim.requests if path.endswith("/chat/completions") and body.get("stream")]
    assert len(streamed) == 1 and "Answer the question" in str(streamed[0]["messages"])  # the answer's call
    assert streamed[0].get("stream_options") == {"include_usage": True} and final["usage"]["generate"]["input_tokens"]
    assert final["answer"] == "France"
    assert local.calls == {"difficulty": 1} and final["compute"]["fallbacks"] == {"difficulty": 1}


def test_the_cli_names_a_provider_failure_in_one_line(nim, nvidia_context, capsys, monkeypatch):
    from ragloop.cli import main

    monkeypatch.setenv("RAGLOOP_INDEX", nvidia_context.index_path)
    nim.fail("/v1/ranking", *["500"] * 10)
    from ragloop.graph import builder

    monkeypatch.setattr(builder, "graph", compile_graph(retry=FAST_RETRY))
    code = main(
        [
            "ask",
            "Where is Normandy?",
            "--set",
            "chat_provider=nvidia",
            "--set",
            "embedding_provider=nvidia",
            "--set",
            "rerank_provider=nvidia",
            "--set",
            f"nvidia_base_url={nim.url}",
            "--set",
            "difficulty_estimator=verbal",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "a provider call failed" in err and "[500]" in err and "Traceback" not in err


def test_ask_provider_nvidia_end_to_end_and_the_key_never_shows(nim, nvidia_context, capsys, monkeypatch):
    import json

    from ragloop.cli import main

    monkeypatch.setenv("NVIDIA_API_KEY", "nvapi-secret-123")
    monkeypatch.setenv("RAGLOOP_INDEX", nvidia_context.index_path)
    code = main(
        [
            "ask",
            "Where is Normandy?",
            "--provider",
            "nvidia",
            "--json",
            "--set",
            f"nvidia_base_url={nim.url}",
            "--set",
            "difficulty_estimator=verbal",
            "--set",
            f"nvidia_chat_model={CHAT}",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    result = json.loads(captured.out)
    # the defaults: the model states it is sure, so its draft is the answer
    assert result["answer"] == "France" and result["budget"]["from_draft"] and CHAT in result["usage_by_model"]
    assert "nvapi-secret-123" not in captured.out + captured.err
    assert all(headers.get("Authorization") == "Bearer nvapi-secret-123" for _, _, headers in nim.requests)


def test_the_rate_limiter_is_one_bucket_shared_by_every_chat_model(nvidia_context):
    from dataclasses import replace

    from ragloop import providers

    ctx = replace(nvidia_context, requests_per_second=5.0)
    first = providers.chat_model(ctx, "grade", max_tokens=8)
    second = providers.chat_model(ctx, "generate", max_tokens=8)
    assert first.rate_limiter is second.rate_limiter is not None
    assert providers.chat_model(nvidia_context, "grade", max_tokens=8).rate_limiter is None
