"""How a node waits on a provider, a search or the cache: awaited in an async run, called in place in a sync one.

The graph's nodes are coroutines. The LangGraph server (and every `ainvoke` / `astream` caller) awaits them:
a model call, an HTTP rerank or a cache read holds no thread while it waits, CPU work (search, the local
reranker) runs on a worker thread so the event loop stays free, and a cancelled run stops its calls.

A sync caller (`invoke`, the CLI, a sync parent graph) runs the same coroutine with :func:`run_in_place`.
Every wait below then happens in place (``model.invoke``, the function itself), so the coroutine finishes at
its first step with no event loop, and one node is written once for both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_in_place: ContextVar[bool] = ContextVar("ragloop_in_place", default=False)


async def either(call: Callable[..., T], acall: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """`acall(...)` awaited in an async run; `call(...)` in place in a sync one."""
    if _in_place.get():
        return call(*args, **kwargs)
    return await acall(*args, **kwargs)


async def off_loop(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """CPU-bound or blocking work: on a worker thread in an async run (context variables follow it), in place
    in a sync one."""
    if _in_place.get():
        return call(*args, **kwargs)
    return await asyncio.to_thread(call, *args, **kwargs)


def run_in_place(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a node's coroutine from sync code: every wait in it happens in place, so it ends at its first step."""
    token = _in_place.set(True)
    try:
        try:
            coroutine.send(None)
        except StopIteration as finished:
            return finished.value
        coroutine.close()
        raise RuntimeError("a node awaited something other than ragloop.providers.calls in a sync run")
    finally:
        _in_place.reset(token)
