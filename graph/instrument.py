"""How each node of the question graph is wrapped: its time, retries and cache bookkeeping in the state,
and a call to every registered observer.

The graph records what a run needs to report (``timings``, ``retries``, ``node_runs``).
Whoever wants more (Prometheus metrics, per-key token accounting: serving/) registers an
:class:`Observer` with :func:`add_observer`; the graph never imports them.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph._internal._runnable import RunnableCallable  # a node with func + afunc, as ToolNode is built
from langgraph.runtime import Runtime

from ragloop.providers.calls import off_loop, run_in_place
from ragloop.settings import Context
from ragloop.state import State


class Observer(Protocol):
    def node_finished(self, node: str, seconds: float, error: BaseException | None) -> None:
        """A node returned (error None) or raised."""

    def run_finished(
        self, state: dict[str, Any], update: dict[str, Any], identity: str | None, run_id: str | None
    ) -> None:
        """A run was answered: its state before the answering node, the node's update, the API key's identity
        when a server authenticated one, and the server's run id."""


_observers: list[Observer] = []


def add_observer(observer: Observer) -> None:
    """Call `observer` for every node and answered run in this process (once, however often it is added)."""
    if observer not in _observers:
        _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    if observer in _observers:
        _observers.remove(observer)


def _answers_run(update: dict[str, Any]) -> bool:
    return "stop_reason" in (update.get("compute") or {})  # finish, or lookup serving a cached answer


def _run_id(config: RunnableConfig) -> str | None:
    """The LangGraph server's id of the run (None outside a server)."""
    found = (config.get("configurable") or {}).get("run_id") or (config.get("metadata") or {}).get("run_id")
    return str(found) if found else None


def _identity(config: RunnableConfig) -> str | None:
    """The API key identity the LangGraph server authenticated for this run, if any."""
    user = (config.get("configurable") or {}).get("langgraph_auth_user")
    return getattr(user, "identity", None) or (user.get("identity") if isinstance(user, dict) else None)


def instrumented(name: str, node: Callable[..., Any]) -> RunnableCallable:
    """The node, recording its wall time in state['timings'] (summed over loop iterations) and the retry
    policy's extra attempts in state['retries']; observers hear of every node and of the run it answers.

    A coroutine node (one that calls a provider) is awaited in an async run and run in place in a sync one
    (providers/calls.py); a plain function node is called as it is in a sync run, on a worker thread in an
    async one.
    """
    is_coroutine = inspect.iscoroutinefunction(node)

    def done(update: dict[str, Any], started: float, state: State, runtime: Runtime[Context], config) -> dict:
        seconds = time.perf_counter() - started
        update["timings"] = {name: round(seconds, 4)}
        attempt = getattr(getattr(runtime, "execution_info", None), "node_attempt", 1) or 1
        if attempt > 1:  # the RetryPolicy ran this node again after transient failures
            update["retries"] = {name: attempt - 1}
        answered = _answers_run(update)
        who = (dict(state), _identity(config), _run_id(config)) if answered and _observers else None
        for observer in list(_observers):
            observer.node_finished(name, seconds, None)
            if who is not None:
                observer.run_finished(who[0], update, who[1], who[2])
        return update

    def failed(exc: BaseException, started: float) -> None:
        for observer in list(_observers):
            observer.node_finished(name, time.perf_counter() - started, exc)

    def run(state: State, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            update = run_in_place(node(state, runtime)) if is_coroutine else node(state, runtime)
        except BaseException as exc:
            failed(exc, started)
            raise
        return done(update, started, state, runtime, config)

    async def arun(state: State, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            # a plain function node may touch files (prices, the index's version): off the event loop
            update = await node(state, runtime) if is_coroutine else await off_loop(node, state, runtime)
        except BaseException as exc:  # a cancelled run too: CancelledError
            failed(exc, started)
            raise
        return done(update, started, state, runtime, config)

    run.__doc__ = arun.__doc__ = node.__doc__
    return RunnableCallable(run, arun, name=name)
