"""Ask a question: through the exported graph, or in a conversation thread kept by a checkpointer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ragloop.graph.builder import compile_graph, graph
from ragloop.logic.questions import validate_question
from ragloop.persistence.backends import open_cache, open_checkpointer
from ragloop.settings import Context

#: Called with (node, its state update) as each node finishes.
OnUpdate = Callable[[str, dict[str, Any]], None]
#: Called with a node's name as it starts, and with each piece of the answer's text as the model writes it.
OnText = Callable[[str], None]


def ask(
    question: str,
    ctx: Context,
    *,
    thread: str | None = None,
    on_update: OnUpdate | None = None,
    on_start: OnText | None = None,
    on_token: OnText | None = None,
) -> dict[str, Any]:
    """Run the graph on one question; returns the output state with its wall time (`wall_seconds`).

    With a thread id the run is checkpointed ($RAGLOOP_THREADS_URL: SQLite in
    $RAGLOOP_HOME/threads.sqlite by default, or PostgreSQL): the next question in
    the same thread continues the conversation, in this process or a later one.
    """
    question = validate_question(question, ctx)
    modes = ["updates", "values", *(["tasks"] if on_start else []), *(["messages"] if on_token else [])]
    with graph_for_thread(thread) as (compiled, config):
        result: dict[str, Any] = {}
        start = time.perf_counter()
        for mode, chunk in compiled.stream({"question": question}, config, context=ctx, stream_mode=modes):
            if mode == "values":
                result = chunk
            elif mode == "tasks":
                if on_start and "input" in chunk:  # a task started (its result comes as an update)
                    on_start(chunk["name"])
            elif mode == "messages":
                message, _ = chunk
                if on_token and message.type == "AIMessageChunk" and message.text:
                    on_token(message.text)
            elif on_update is not None:
                for node, update in chunk.items():
                    if update:
                        on_update(node, update)
        result["wall_seconds"] = round(time.perf_counter() - start, 3)
        return result


@contextmanager
def graph_for_thread(thread: str | None) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(graph, config): the exported graph without a thread; with one, the graph compiled with the threads'
    checkpointer (closed on exit) and the config naming the thread."""
    if not thread:
        yield graph, {}
        return
    with open_checkpointer() as checkpointer:
        yield compile_graph(checkpointer=checkpointer, cache=open_cache()), {"configurable": {"thread_id": thread}}
