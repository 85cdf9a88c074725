"""NVIDIA endpoints (hosted API or a self-hosted NIM) through langchain-nvidia-ai-endpoints.

`model=` is always passed, so constructing a client makes no network call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragloop.providers.optional import require
from ragloop.providers.rerankers import CompressorReranker

if TYPE_CHECKING:
    from ragloop.graph.context import Context


def _package():
    return require("langchain_nvidia_ai_endpoints", "nvidia")


def _endpoint(ctx: Context) -> dict:
    return {"base_url": ctx.nvidia_base_url} if ctx.nvidia_base_url else {}


class NvidiaProvider:
    name = "nvidia"

    def chat_model(self, ctx: Context, *, role: str, temperature: float, max_tokens: int, seed: int, model: str):
        return _package().ChatNVIDIA(
            model=model or ctx.nvidia_chat_model, temperature=temperature, max_tokens=max_tokens, seed=seed,
            **_endpoint(ctx),
        )

    def embeddings(self, ctx: Context):
        model = "nvidia/nv-embedqa-e5-v5"
        return f"nvidia:{model}", _package().NVIDIAEmbeddings(model=model, truncate="END", **_endpoint(ctx))

    def reranker(self, ctx: Context):
        nv = _package()
        return CompressorReranker(
            f"nvidia:{ctx.nvidia_rerank_model}",
            lambda top_n: nv.NVIDIARerank(model=ctx.nvidia_rerank_model, top_n=top_n, truncate="END", **_endpoint(ctx)),
        )
