"""The Bedrock provider on the wire: the real boto3 clients of langchain-aws against a local Bedrock stand-in.

Converse, ConverseStream, InvokeModel (Titan embeddings) and the agent-runtime
Rerank API go over HTTP to 127.0.0.1 (``bedrock_endpoint_url``), signed with
dummy credentials. Faults are injected by the server.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from ragloop.providers.prices import estimate_cost, price_table
from ragloop.settings import Context
from tests.conftest import reply
from tests.integration.conftest import index_facts_through
from tests.servers.bedrock import FakeBedrockServer

pytest.importorskip("langchain_aws")
pytestmark = pytest.mark.integration

HAIKU = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
OPUS = "us.anthropic.claude-opus-4-20250514-v1:0"
RERANK_ARN = "arn:aws:bedrock:us-west-2::foundation-model/cohere.rerank-v3-5:0"
QUESTION = {"question": "In what country is Normandy located?"}


@pytest.fixture
def bedrock(monkeypatch):
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with FakeBedrockServer(hang_seconds=4.0) as server:
        yield server


@pytest.fixture
def bedrock_context(bedrock, tmp_path):
    ctx = Context(
        index_path=str(tmp_path / "index"),
        chat_provider="bedrock",
        embedding_provider="bedrock",
        rerank_provider="bedrock",
        bedrock_endpoint_url=bedrock.url,
        bedrock_chat_model=HAIKU,
        bedrock_rerank_model_arn=RERANK_ARN,
        aws_region="us-west-2",
        difficulty_estimator="verbal",
        request_timeout=1.0,
        easy_from_draft=False,
    )  # every role goes over the wire, whatever the level
    return index_facts_through(ctx, bedrock)


def test_the_whole_graph_runs_on_bedrock_with_prompt_caching(bedrock, graph, bedrock_context):
    result = graph.invoke(QUESTION, context=bedrock_context)
    assert result["answer"] == "France" and result["citations"]
    assert bedrock.calls("/invoke") == 1 and bedrock.calls("/rerank") == 1 and bedrock.calls("/converse") >= 3
    rerank = next(body for path, body, _ in bedrock.requests if path.endswith("/rerank"))
    config = rerank["rerankingConfiguration"]["bedrockRerankingConfiguration"]
    assert config["modelConfiguration"]["modelArn"] == RERANK_ARN
    # Every prompt's passage block carries a cache point; grading writes it, the answer reads it.
    converse = [body for path, body, _ in bedrock.requests if path.endswith("/converse")]
    assert all(any("cachePoint" in b for b in body["messages"][0]["content"]) for body in converse)
    usage = result["usage_by_model"][HAIKU]
    assert usage["cache_write_tokens"] > 0 and usage["cache_read_tokens"] > 0
    assert result["usage"]["generate"]["cache_read_tokens"] > 0
    assert result["cost_usd"] == estimate_cost(result["usage_by_model"], price_table(), {}) > 0


def test_hard_questions_are_routed_to_the_configured_model(bedrock, graph, bedrock_context):
    ctx = replace(
        bedrock_context,
        difficulty_estimator="retrieval",
        retrieval_bias=-20.0,
        hard_chat_model=OPUS,
        hard_samples=2,
        hard_refine_rounds=0,
    )
    result = graph.invoke(QUESTION, context=ctx)
    assert result["difficulty"]["level"] == "hard"
    models = [path.split("/")[2] for path, _, _ in bedrock.requests if path.endswith("/converse")]
    assert models.count(OPUS) == 2 and models.count(HAIKU) == 1  # two samples on Opus, grading on Haiku
    assert set(result["usage_by_model"]) == {HAIKU, OPUS}


@pytest.mark.parametrize(
    ("suffix", "faults", "node"),
    [
        ("/converse", ("throttle",), "difficulty"),
        ("/rerank", ("throttle", "500"), "rerank"),
        ("/invoke", ("500",), "retrieve"),
    ],
)
def test_throttling_and_server_errors_are_retried_and_reported(bedrock, graph, bedrock_context, suffix, faults, node):
    bedrock.fail(suffix, *faults)
    result = graph.invoke(QUESTION, context=bedrock_context)
    assert result["answer"] == "France" and result["compute"]["retries"] == {node: len(faults)}


def test_a_hung_call_times_out_and_is_retried(bedrock, graph, bedrock_context):
    bedrock.fail("/converse", "timeout")
    started = time.perf_counter()
    result = graph.invoke(QUESTION, context=bedrock_context)
    assert time.perf_counter() - started < bedrock.hang_seconds
    assert result["compute"]["retries"] == {"difficulty": 1}


def test_access_denied_is_not_retried(bedrock, graph, bedrock_context):
    from botocore.exceptions import ClientError

    bedrock.fail("/converse", "denied")
    with pytest.raises(ClientError, match="AccessDenied"):
        graph.invoke(QUESTION, context=bedrock_context)
    assert bedrock.calls("/converse") == 1


def test_a_malformed_response_falls_back_to_the_local_model(bedrock, graph, bedrock_context, use_provider):
    local = use_provider({"difficulty": lambda n: reply("Answer: France\nConfidence: 90")})
    bedrock.fail("/converse", "malformed")
    result = graph.invoke(QUESTION, context=replace(bedrock_context, fallback_chat_provider="local"))
    assert result["answer"] == "France" and local.calls == {"difficulty": 1}
    assert result["compute"]["fallbacks"] == {"difficulty": 1}


def test_streaming_uses_converse_stream_and_a_cut_stream_falls_back(bedrock, graph, bedrock_context, use_provider):
    final = None
    for mode, chunk in graph.stream(QUESTION, context=bedrock_context, stream_mode=["messages", "values"]):
        final = chunk if mode == "values" else final
    assert final["answer"] == "France" and bedrock.calls("/converse-stream") >= 3

    local = use_provider({"difficulty": lambda n: reply("Answer: France\nConfidence: 90")})
    bedrock.fail("/converse-stream", "truncated")
    ctx = replace(bedrock_context, fallback_chat_provider="local")
    for mode, chunk in graph.stream(QUESTION, context=ctx, stream_mode=["messages", "values"]):
        final = chunk if mode == "values" else final
    assert final["answer"] == "France"
    assert local.calls == {"difficulty": 1} and final["compute"]["fallbacks"] == {"difficulty": 1}
