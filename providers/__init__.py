"""One factory per provider; nodes ask here for a chat model, the embedder or the reranker.

``PROVIDERS`` maps a provider name (as written in Context) to its factory.
Tests swap an entry for a factory of fake models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from ragloop.providers.bedrock import BedrockProvider
from ragloop.providers.calls import either, off_loop
from ragloop.providers.cohere import CohereProvider
from ragloop.providers.local import LocalProvider
from ragloop.providers.nvidia import NvidiaProvider

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
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


#: The tag LangGraph's `messages` stream mode skips (langgraph.constants.TAG_NOSTREAM).
NOSTREAM = "nostream"
#: The tag of the one call per run whose tokens a `messages` stream shows: the answer as it is written.
ANSWER_TAG = "ragloop:answer"

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
    level: str = "",
    answers: bool = False,
) -> Runnable:
    """The chat model for a role; `model` ('' = the provider's configured one) routes by difficulty.

    With ``fallback_chat_provider`` set, a failed call is answered by that provider's configured model
    instead (see providers/resilience.py). A call whose reply is the run's answer (`answers`) streams its
    tokens to a LangGraph ``messages`` stream as the model writes them (tagged ``ragloop:answer``); every
    other call (drafts, grades, rewrites, critiques, samples to choose among) returns its reply whole and is
    tagged ``nostream``, so a client sees only the answer. Both count their token usage. Its run carries the
    role and difficulty level as tags and metadata, so a LangSmith trace reads by step.
    """

    def make(provider: str, name: str) -> BaseChatModel | Runnable:
        chat = PROVIDERS[provider].chat_model(
            ctx,
            role=role,
            max_tokens=max_tokens,
            model=name,
            seed=ctx.seed if seed is None else seed,
            temperature=ctx.temperature if temperature is None else temperature,
        )
        if isinstance(chat, BaseChatModel) and not answers:
            chat.disable_streaming = True  # an internal call: nobody is shown its tokens
        return chat

    chosen = make(ctx.chat_provider, model)
    backup = ctx.fallback_chat_provider
    if backup and backup != ctx.chat_provider:
        from ragloop.providers.resilience import with_fallback

        chosen = with_fallback(chosen, lambda: make(backup, ""), f"{ctx.chat_provider}->{backup}")
    tags = [ANSWER_TAG if answers else NOSTREAM, f"ragloop:{role}", *([f"ragloop:{level}"] if level else [])]
    metadata = {"ragloop_role": role, "ragloop_level": level, "ragloop_model": model or ctx.chat_provider}
    return chosen.with_config(tags=tags, metadata=metadata, run_name=f"ragloop.{role}")


async def ask(ctx: Context, role: str, messages: Sequence[BaseMessage], **options: Any) -> AIMessage:
    """The reply of the role's chat model (`chat_model`'s options) to `messages`: awaited in an async run, so a
    cancelled run drops the request, and the model is built off the event loop (the local one may load
    weights); in place in a sync run (providers/calls.py)."""
    model = await off_loop(chat_model, ctx, role, **options)
    return await either(model.invoke, model.ainvoke, messages)


async def rerank(ctx: Context, query: str, documents: Sequence[Document], top_n: int) -> list[Document]:
    """The Context's reranker's `top_n` documents: an HTTP reranker awaited, a local one on a worker thread."""
    from ragloop.providers.rerankers import rerank_awaited

    return await rerank_awaited(await off_loop(reranker, ctx), query, documents, top_n)


def embeddings(ctx: Context) -> tuple[str, Embeddings]:
    """(embedder name recorded in the index, Embeddings)."""
    return PROVIDERS[ctx.embedding_provider].embeddings(ctx)


def reranker(ctx: Context) -> Reranker:
    if ctx.rerank_provider == "none":
        from ragloop.providers.rerankers import RetrievalOrder

        return RetrievalOrder()
    return PROVIDERS[ctx.rerank_provider].reranker(ctx)
