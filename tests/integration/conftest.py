"""Real components: the ONNX embedder, SmolLM2-135M through llama.cpp, an index of the demo corpus."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from ragloop import providers
from ragloop.graph.context import Context
from ragloop.retrieval.index import build_index
from ragloop.retrieval.loaders import load_documents


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
