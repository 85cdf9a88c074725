"""NVIDIA endpoints (hosted API or a self-hosted NIM) through langchain-nvidia-ai-endpoints.

`model=` is always passed, so constructing a client makes no network call; the
package's usage telemetry is switched off (nothing leaves the machine but the
calls themselves). The API key comes from NVIDIA_API_KEY, read by the package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragloop.providers.optional import require
from ragloop.providers.rerankers import CompressorReranker
from ragloop.providers.resilience import rate_limiter

if TYPE_CHECKING:
    from ragloop.settings import Context


def _package():
    return require("langchain_nvidia_ai_endpoints", "nvidia")


def _endpoint(ctx: Context) -> dict:
    base = {"base_url": ctx.nvidia_base_url} if ctx.nvidia_base_url else {}
    return {**base, "usage_telemetry_enabled": False}


def _with_timeout(client, ctx: Context):
    """Embeddings and rerank take no timeout argument; their HTTP client reads this attribute."""
    inner = getattr(client, "_client", None)
    if inner is not None and hasattr(inner, "timeout"):
        inner.timeout = ctx.request_timeout
    return client


class NvidiaProvider:
    name = "nvidia"

    def chat_model(self, ctx: Context, *, role: str, temperature: float, max_tokens: int, seed: int, model: str):
        return _package().ChatNVIDIA(
            model=model or ctx.nvidia_chat_model,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
            timeout=ctx.request_timeout,
            rate_limiter=rate_limiter(self.name, ctx.requests_per_second),
            **_endpoint(ctx),
        )

    def embeddings(self, ctx: Context):
        model = ctx.nvidia_embedding_model
        return f"nvidia:{model}", _with_timeout(
            _package().NVIDIAEmbeddings(model=model, truncate="END", **_endpoint(ctx)), ctx
        )

    def reranker(self, ctx: Context):
        nv = _package()
        return CompressorReranker(
            f"nvidia:{ctx.nvidia_rerank_model}",
            lambda top_n: _with_timeout(
                nv.NVIDIARerank(model=ctx.nvidia_rerank_model, top_n=top_n, truncate="END", **_endpoint(ctx)), ctx
            ),
        )
