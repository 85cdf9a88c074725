"""The per-question token budget: what was spent, what a call will cost, whether it fits.

Before every model call a node asks :func:`affordable` with the prompt it is about
to send and the call's output cap. The input estimate is deliberately high (one
token per three UTF-8 bytes, where English runs near four characters a token), so
a call that passes the check stays inside ``max_tokens_per_query``; the only call
ever made over budget is the one answer a question always gets.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from ragloop.graph.context import Context

_MESSAGE_OVERHEAD = 8  # role and template tokens around each message


def tokens_spent(usage: dict[str, dict[str, int]] | None) -> int:
    """Input + output tokens over every model call so far."""
    return sum(u.get("input_tokens", 0) + u.get("output_tokens", 0) for u in (usage or {}).values())


def estimate_tokens(messages: Sequence[BaseMessage]) -> int:
    """An upper estimate of the prompt's tokens, without a tokenizer."""
    return sum(-(-len(str(m.content).encode("utf-8")) // 3) + _MESSAGE_OVERHEAD for m in messages)


def call_cost(messages: Sequence[BaseMessage], max_tokens: int) -> int:
    """The most one call can spend: its estimated prompt plus its output cap."""
    return estimate_tokens(messages) + max_tokens


def remaining(ctx: Context, usage: dict[str, dict[str, int]] | None) -> float:
    """Tokens left in the question's budget (infinite when there is none)."""
    if not ctx.max_tokens_per_query:
        return float("inf")
    return ctx.max_tokens_per_query - tokens_spent(usage)


def affordable(ctx: Context, usage: dict[str, dict[str, int]] | None, cost: int) -> bool:
    return cost <= remaining(ctx, usage)
