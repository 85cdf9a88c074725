"""Real components: the ONNX embedder, SmolLM2-135M through llama.cpp, an index of the demo corpus."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from langgraph.types import RetryPolicy

from ragloop import providers
from ragloop.graph.builder import compile_graph
from ragloop.providers.resilience import is_transient
from ragloop.retrieval.index import build_index
from ragloop.retrieval.loaders import load_documents
from ragloop.settings import Context
from tests.conftest import fact_documents


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory) -> Path:
    """The bundled demo corpus indexed with the real embedder."""
    path = tmp_path_factory.mktemp("real") / "index"
    ctx = Context(index_path=str(path))
    name, embedder = providers.embeddings(ctx)
    with resources.as_file(resources.files("ragloop.demo_corpus").joinpath("squad_demo.json")) as corpus:
        build_index(load_documents([corpus]), embedder, name, path)
    return path


@pytest.fixture(scope="session")
def small_model_context(demo_index) -> Context:
    return Context(index_path=str(demo_index), local_chat_model="smollm2-135m", local_n_ctx=4096)


#: Retries for the wire tests: the real policy's shape, milliseconds instead of seconds.
FAST_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.05, backoff_factor=2.0, jitter=True, retry_on=is_transient)


@pytest.fixture
def graph():
    """The graph with FAST_RETRY (the wire tests inject faults that are retried)."""
    return compile_graph(retry=FAST_RETRY)


def index_facts_through(ctx: Context, server) -> Context:
    """Index the test facts with ctx's embedder (over the stand-in server), then forget those requests."""
    name, embedder = providers.embeddings(ctx)
    build_index(fact_documents(), embedder, name, ctx.index_path)
    server.requests.clear()
    return ctx
