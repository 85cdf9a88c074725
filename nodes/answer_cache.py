"""lookup / remember: the answer cache. A repeated question with identical settings and index is answered
from the graph's cache with no model call; a finished answer is stored for ``answer_cache_ttl_seconds``.

Both compute the key from the run (its question, its Context, its authenticated tenant), and `remember`
stores only an answer whose whole state this run derived from its input: a state a client wrote (a
command, a thread state update) is sealed by no `intake` of this run, so nothing it holds reaches another
run through the cache (logic/trust.py).

Both nodes are made for the cache the graph is compiled with (graph/builder.py); without one they pass.
"""

from __future__ import annotations

import time

from langgraph.cache.base import BaseCache
from langgraph.runtime import Runtime

from ragloop.logic.messages import answer_message
from ragloop.logic.questions import is_follow_up
from ragloop.logic.trust import derived_in_this_run
from ragloop.persistence.cache_keys import ANSWERS, run_answer_key
from ragloop.providers.calls import off_loop
from ragloop.settings import Context, get_context
from ragloop.state import State

#: The output fields an answer record keeps.
KEPT = ("answer", "citations", "difficulty", "budget", "compute", "cost_usd", "rewrites", "warnings")


def _cacheable(state: State, ctx: Context, answered: bool = False) -> bool:
    """A follow-up in a thread depends on the conversation, so it is neither looked up nor stored (once
    answered, the state's history ends with this turn)."""
    history = state.get("history") or []
    before = {**state, "history": history[:-1] if answered else history}
    return bool(ctx.answer_cache_ttl_seconds) and not is_follow_up(before, ctx)


def make_lookup(cache: BaseCache | None):
    async def lookup(state: State, runtime: Runtime[Context]) -> dict:
        ctx = get_context(runtime)
        if cache is None or not _cacheable(state, ctx):
            return {}

        def read() -> dict | None:  # the key reads the index's version, then the cache: off the event loop
            entry = (ANSWERS, run_answer_key(dict(state), ctx))
            return cache.get([entry]).get(entry)

        record = await off_loop(read)
        if record is None:
            return {"node_runs": [("answer", "miss")]}
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
            "node_runs": [("answer", "hit")],
        }

    return lookup


def make_remember(cache: BaseCache | None):
    async def remember(state: State, runtime: Runtime[Context]) -> dict:
        ctx = get_context(runtime)
        compute = state.get("compute") or {}
        if cache is None or not _cacheable(state, ctx, answered=True) or compute.get("fallbacks"):
            return {}  # no cache, not cacheable, or answered by a fallback provider: not worth keeping
        if not compute.get("stop_reason"):
            return {}  # finish did not run: no answer
        if not derived_in_this_run(state.get("seal")):
            return {}  # a state this run did not derive from its input is no answer to hand to others
        record = {k: state.get(k) for k in KEPT} | {"stored_at": time.time()}

        def write() -> None:
            cache.set({(ANSWERS, run_answer_key(dict(state), ctx)): (record, ctx.answer_cache_ttl_seconds)})

        await off_loop(write)
        return {}

    return remember
