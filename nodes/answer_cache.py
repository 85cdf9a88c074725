"""lookup / remember: the answer cache. A repeated question with identical settings and index is answered
from the graph's cache with no model call; a finished answer is stored for ``answer_cache_ttl_seconds``.

Both nodes are made for the cache the graph is compiled with (graph/builder.py); without one they pass.
"""

from __future__ import annotations

import time

from langgraph.cache.base import BaseCache
from langgraph.runtime import Runtime

from ragloop.logic.messages import answer_message
from ragloop.logic.questions import is_follow_up
from ragloop.logic.tenancy import scoped
from ragloop.persistence.cache_keys import ANSWERS, answer_key
from ragloop.settings import Context, get_context
from ragloop.state import State

#: The output fields an answer record keeps.
KEPT = ("answer", "citations", "difficulty", "budget", "compute", "cost_usd", "rewrites", "warnings")


def _cacheable(state: State, ctx: Context) -> bool:
    """A follow-up in a thread depends on the conversation, so it is neither looked up nor stored."""
    return bool(ctx.answer_cache_ttl_seconds) and not is_follow_up(state, ctx)


def make_lookup(cache: BaseCache | None):
    def lookup(state: State, runtime: Runtime[Context]) -> dict:
        ctx = get_context(runtime)
        if cache is None or not _cacheable(state, ctx):
            return {}
        key = answer_key(state["question"], ctx, scoped(state.get("filter"), state.get("tenant")))
        record = cache.get([(ANSWERS, key)]).get((ANSWERS, key))
        if record is None:
            return {
                "cache_scope": {**state["cache_scope"], "answer": key},
                "node_runs": [("answer", state["cache_scope"]["run"])],
            }
        age = round(time.time() - record["stored_at"], 1)
        compute = {
            **record["compute"],
            "tokens": 0,
            "cache": {"answer": {"hits": 1, "misses": 0}},
            "answer_cache": {
                "age_seconds": age,
                "saved_tokens": record["compute"]["tokens"],
                "saved_cost_usd": record["cost_usd"],
            },
        }
        output = {**{k: record[k] for k in KEPT if k in record}, "compute": compute, "cost_usd": 0.0}
        return {
            **output,
            "messages": [answer_message(output)],
            "history": [{"question": state["asked"], "answer": record["answer"]}],
            "node_runs": [("answer", "cache")],
        }

    return lookup


def make_remember(cache: BaseCache | None):
    def remember(state: State, runtime: Runtime[Context]) -> dict:
        ctx = get_context(runtime)
        key = (state.get("cache_scope") or {}).get("answer")
        if cache is None or not key or (state.get("compute") or {}).get("fallbacks"):
            return {}  # no cache, not cacheable, or answered by a fallback provider: not worth keeping
        record = {k: state.get(k) for k in KEPT} | {"stored_at": time.time()}
        cache.set({(ANSWERS, key): (record, ctx.answer_cache_ttl_seconds)})
        return {}

    return remember
