"""One factory per provider; nodes ask here for a chat model, the embedder or the reranker.

``PROVIDERS`` maps a provider name (as written in Context) to its factory.
Tests swap an entry for a factory of fake models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ragloop.providers.bedrock import BedrockProvider
from ragloop.providers.cohere import CohereProvider
from ragloop.providers.local import LocalProvider
from ragloop.providers.nvidia import NvidiaProvider

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

    from ragloop.providers.rerankers import Reranker
    from ragloop.settings import Context


class Provider(Protocol):
    """What a provider makes: chat models, the embedder, the reranker (each may refuse with ConfigError)."""

    name: str

    def chat_model(
        self, ctx: Context, *, role: str, temperature: float, max_tokens: int, seed: int, model: str
    ) -> BaseChatModel | Runnable: ...

    def embeddings(self, ctx: Context) -> tuple[str, Embeddings]: ...

    def reranker(self, ctx: Context) -> Reranker: ...


PROVIDERS: dict[str, Provider] = {
    "local": LocalProvider(),
    "nvidia": NvidiaProvider(),
    "bedrock": BedrockProvider(),
    "cohere": CohereProvider(),
}


def chat_model(
    ctx: Context,
    role: str,
    *,
    max_tokens: int,
    temperature: float | None = None,
    seed: int | None = None,
    model: str = "",
) -> BaseChatModel | Runnable:
    """The chat model for a role; `model` ('' = the provider's configured one) routes by difficulty.

    With ``fallback_chat_provider`` set, a failed call is answered by that
    provider's configured model instead (see providers/resilience.py).
    """

    def make(provider: str, model: str) -> BaseChatModel | Runnable:
        return PROVIDERS[provider].chat_model(
            ctx,
            role=role,
            max_tokens=max_tokens,
            model=model,
            seed=ctx.seed if seed is None else seed,
            temperature=ctx.temperature if temperature is None else temperature,
        )

    primary = make(ctx.chat_provider, model)
    backup = ctx.fallback_chat_provider
    if not backup or backup == ctx.chat_provider:
        return primary
    from ragloop.providers.resilience import with_fallback

    return with_fallback(primary, lambda: make(backup, ""), f"{ctx.chat_provider}->{backup}")


def embeddings(ctx: Context) -> tuple[str, Embeddings]:
    """(embedder name recorded in the index, Embeddings)."""
    return PROVIDERS[ctx.embedding_provider].embeddings(ctx)


def reranker(ctx: Context) -> Reranker:
    if ctx.rerank_provider == "none":
        from ragloop.providers.rerankers import RetrievalOrder

        return RetrievalOrder()
    return PROVIDERS[ctx.rerank_provider].reranker(ctx)
