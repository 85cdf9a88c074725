"""What a question may spend: the budget table's row after its caps, and the per-question token budget.

Before every model call a node asks :func:`affordable` with the prompt it is about
to send and the call's output cap. The input estimate is deliberately high (one
token per three UTF-8 bytes, where English runs near four characters a token), so
a call that passes the check stays inside ``max_tokens_per_query``; the only call
ever made over budget is the one answer a question always gets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import BaseMessage

from ragloop.errors import ConfigError
from ragloop.logic.usage import tokens_spent
from ragloop.settings import LEVELS, Context, Level
from ragloop.state import Budget

_MESSAGE_OVERHEAD = 8  # role and template tokens around each message


def budget_for(level: Level, ctx: Context) -> Budget:
    """The budget table's row for a level, each entry capped by the Context's caps."""
    row = ctx.row(level)
    docs = ctx.top_n if row.docs is None else row.docs
    samples = max(1, min(row.samples, ctx.max_samples))
    return {
        "docs": max(1, min(docs, ctx.max_docs, ctx.k)),
        "samples": samples,
        "partitions": max(1, min(row.partitions, samples)),
        "refine_rounds": max(0, min(row.refine_rounds, ctx.max_refine_rounds)),
        "model": row.chat_model,
    }


def held(budget: Mapping[str, Any], ctx: Context) -> Budget:
    """The budget as a node may spend it, whatever the state holds: each figure within the Context's caps
    (which the server's ceilings bound), and the model one of the deployment's. A client can write the
    state's budget; this is what makes that write worth nothing (docs/architecture.md, "Trust")."""
    model = allowed_model(budget.get("model", ""), ctx)
    samples = count(budget.get("samples"), 0, ctx.max_samples)
    docs_cap = max(min(ctx.max_docs, ctx.k), ctx.difficulty_passages)  # an easy draft reads difficulty_passages
    held_budget: Budget = {
        "docs": count(budget.get("docs"), 1, docs_cap),
        "samples": samples,
        "partitions": count(budget.get("partitions"), min(1, samples), samples),
        "refine_rounds": count(budget.get("refine_rounds"), 0, ctx.max_refine_rounds),
        "model": model,
    }
    if budget.get("from_draft") is True:
        held_budget["from_draft"] = True
    return held_budget


def allowed_model(model: Any, ctx: Context) -> str:
    """`model`, when it is one a run may call: the provider's configured one ('') or the budget table's;
    else ConfigError naming it."""
    if not isinstance(model, str) or model not in {"", *(ctx.row(level).chat_model for level in LEVELS)}:
        raise ConfigError(f"The model {str(model)[:80]!r} is not one of this deployment's chat models.")
    return model


def count(value: Any, low: int, high: int) -> int:
    """A counter or budget figure from the state, within [low, high]; anything but a whole number is `high`
    (the most the Context allows, never more)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return high
    return max(low, min(value, high))


def most_docs(ctx: Context) -> int:
    """The most documents any row of the table may give the model: what the reranker keeps before difficulty."""
    return max(budget_for(level, ctx)["docs"] for level in LEVELS)


def partition(count: int, parts: int) -> list[list[int]]:
    """Document numbers 1..count dealt round-robin into `parts` disjoint slices, so each holds a top document."""
    return [list(range(p + 1, count + 1, parts)) for p in range(parts)]


def estimate_tokens(messages: Sequence[BaseMessage]) -> int:
    """An upper estimate of the prompt's tokens, without a tokenizer."""
    return sum(-(-len(str(m.content).encode("utf-8")) // 3) + _MESSAGE_OVERHEAD for m in messages)


def call_cost(messages: Sequence[BaseMessage], max_tokens: int) -> int:
    """The most one call can spend: its estimated prompt plus its output cap."""
    return estimate_tokens(messages) + max_tokens


def window(ctx: Context) -> float:
    """The most one call may hold, prompt and output: the local model's context window (`local_n_ctx`);
    unbounded for hosted models, whose windows are far larger than any prompt ragloop builds."""
    return ctx.local_n_ctx if ctx.chat_provider == "local" else float("inf")


Prompt = Callable[[Sequence[Document]], Sequence[BaseMessage]]


def fitting(docs: Sequence[Document], prompt: Prompt, max_tokens: int, limit: float) -> list[Document]:
    """The longest prefix of `docs` (one document at least) whose prompt, with `max_tokens` of output, costs
    at most `limit` tokens: the ranking's tail is what a call that cannot hold every passage goes without."""
    return _longest_prefix(docs, lambda some: call_cost(prompt(some), max_tokens), limit)


def window_note(node: str, kept: int, given: int) -> str:
    """What a call that held fewer passages than it was given says in compute.degraded."""
    return f"{node}: {kept} of {given} documents fit the model's context window (local_n_ctx)"


def window_batches(
    docs: Sequence[Document], prompt: Prompt, max_tokens: Callable[[int], int], limit: float
) -> list[list[Document]]:
    """`docs` in order, cut into consecutive groups each of whose prompts (with `max_tokens(len(group))` of
    output) costs at most `limit`: one call per group judges them all where one call cannot hold them."""
    batches: list[list[Document]] = []
    rest = list(docs)
    while rest:
        batches.append(_longest_prefix(rest, lambda some: call_cost(prompt(some), max_tokens(len(some))), limit))
        rest = rest[len(batches[-1]) :]
    return batches


def _longest_prefix(
    docs: Sequence[Document], cost: Callable[[Sequence[Document]], int], limit: float
) -> list[Document]:
    kept = len(docs)
    while kept > 1 and cost(docs[:kept]) > limit:
        kept -= 1
    return list(docs[:kept])


def remaining(ctx: Context, usage: dict[str, dict[str, int]] | None) -> float:
    """Tokens left in the question's budget (infinite when there is none)."""
    if not ctx.max_tokens_per_query:
        return float("inf")
    return ctx.max_tokens_per_query - tokens_spent(usage)


def affordable(ctx: Context, usage: dict[str, dict[str, int]] | None, cost: int) -> bool:
    """Whether a call of this cost fits what is left of the question's token budget."""
    return cost <= remaining(ctx, usage)
