"""Cohere Rerank on the wire: the real langchain-cohere / cohere clients against a local v2 Rerank stand-in."""

from __future__ import annotations

import pytest

from ragloop.errors import ConfigError
from ragloop.graph.builder import graph
from tests.servers.cohere import FakeCohereServer
from tests.unit.test_graph import scripts

pytest.importorskip("langchain_cohere")
pytestmark = pytest.mark.integration


@pytest.fixture
def cohere_server(monkeypatch):
    monkeypatch.setenv("COHERE_API_KEY", "test-key")
    with FakeCohereServer() as server:
        yield server


def test_the_graph_reranks_with_cohere(cohere_server, use_provider, context):
    use_provider(scripts())
    result = graph.invoke(
        {"question": "In what country is Normandy located?"},
        context=context(rerank_provider="cohere", cohere_base_url=cohere_server.url),
    )
    path, body, headers = cohere_server.requests[0]
    assert path == "/v2/rerank" and body["model"] == "rerank-v3.5" and headers["Authorization"] == "Bearer test-key"
    assert result["citations"][0]["id"] == "Normans"
    assert result["citations"][0]["rerank_score"] > 0


def test_a_rate_limited_rerank_is_retried(cohere_server, use_provider, context):
    use_provider(scripts())
    cohere_server.fail("/v2/rerank", "429")
    result = graph.invoke(
        {"question": "In what country is Normandy located?"},
        context=context(rerank_provider="cohere", cohere_base_url=cohere_server.url),
    )
    assert result["answer"] and len(cohere_server.requests) == 2


def test_a_missing_key_is_named(monkeypatch, use_provider, context):
    monkeypatch.delenv("COHERE_API_KEY", raising=False)
    use_provider(scripts())
    with pytest.raises(ConfigError, match="COHERE_API_KEY"):
        graph.invoke({"question": "Where is Normandy?"}, context=context(rerank_provider="cohere"))
