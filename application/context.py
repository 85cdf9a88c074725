"""A Context from what a caller says: one provider for everything, an index folder, a local model, overrides."""

from __future__ import annotations

from typing import Any

from ragloop.settings import Context


def context_from(
    overrides: dict[str, Any] | None = None,
    *,
    provider: str | None = None,
    index: str | None = None,
    model: str | None = None,
) -> Context:
    """`provider` sets chat, embeddings and rerank at once (overrides can still split them); `index` the index
    folder; `model` the local chat model."""
    settings: dict[str, Any] = {}
    if provider:
        settings |= dict.fromkeys(("chat_provider", "embedding_provider", "rerank_provider"), provider)
    settings |= overrides or {}
    if index:
        settings["index_path"] = index
    if model:
        settings["local_chat_model"] = model
    return Context.from_overrides(settings)
