"""Token accounting: what each model call spent, per node and per model."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage


def usage_of(*messages: AIMessage) -> dict[str, int]:
    """Input/output tokens and calls of the messages, as the provider reported them.

    Prompt-cache reads and writes and answers from a fallback model are counted
    too, when there are any.
    """
    total = {"input_tokens": 0, "output_tokens": 0, "calls": 0}
    for message in messages:
        meta: Any = getattr(message, "usage_metadata", None) or {}
        total["input_tokens"] += int(meta.get("input_tokens", 0))
        total["output_tokens"] += int(meta.get("output_tokens", 0))
        total["calls"] += 1
        details = meta.get("input_token_details") or {}
        for key, name in (("cache_read", "cache_read_tokens"), ("cache_creation", "cache_write_tokens")):
            if details.get(key):
                total[name] = total.get(name, 0) + int(details[key])
        if (message.response_metadata or {}).get("ragloop_fallback"):
            total["fallbacks"] = total.get("fallbacks", 0) + 1
    return total


def model_of(message: AIMessage) -> str:
    """The model that wrote the message, as its provider names it."""
    meta = message.response_metadata or {}
    return str(meta.get("model_name") or meta.get("model_id") or meta.get("model") or "unknown")


def spent(node: str, *messages: AIMessage) -> dict[str, Any]:
    """The state update recording these calls: tokens per node and per model."""
    by_model: dict[str, list[AIMessage]] = {}
    for message in messages:
        by_model.setdefault(model_of(message), []).append(message)
    return {
        "usage": {node: usage_of(*messages)},
        "usage_by_model": {model: usage_of(*replies) for model, replies in by_model.items()},
    }


def tokens_spent(usage: dict[str, dict[str, int]] | None) -> int:
    """Input + output tokens over every model call so far."""
    return sum(max(0, u.get("input_tokens", 0)) + max(0, u.get("output_tokens", 0)) for u in (usage or {}).values())
