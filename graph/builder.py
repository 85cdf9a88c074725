"""The graph's wiring: START → difficulty → retrieve → rerank → grade → (rewrite → retrieve … | generate) → END.

``graph`` is the compiled graph that ``langgraph.json`` exports: no checkpointer
is compiled in (the server brings its own), and building it touches no model,
index or network.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from ragloop.graph.context import MAX_REWRITES_CEILING, Context
from ragloop.graph.routing import route_after_grade
from ragloop.graph.state import InputState, OutputState, State
from ragloop.nodes.difficulty import difficulty
from ragloop.nodes.generate import generate
from ragloop.nodes.grade import grade
from ragloop.nodes.rerank import rerank
from ragloop.nodes.retrieve import retrieve
from ragloop.nodes.rewrite import rewrite

#: Steps in the longest possible run: difficulty, then (retrieve, rerank, grade,
#: rewrite) per rewrite, then retrieve, rerank, grade, generate; with headroom.
RECURSION_LIMIT = 1 + 4 * MAX_REWRITES_CEILING + 4 + 5


def timed(name: str, node: Callable[[State, Runtime[Context]], dict]) -> Callable[[State, Runtime[Context]], dict]:
    """Record the node's wall time in state['timings'] (summed over loop iterations)."""

    def run(state: State, runtime: Runtime[Context]) -> dict:
        start = time.perf_counter()
        update = node(state, runtime)
        update["timings"] = {name: round(time.perf_counter() - start, 4)}
        return update

    run.__name__ = name
    run.__doc__ = node.__doc__
    return run


def build_graph() -> StateGraph:
    builder = StateGraph(State, context_schema=Context, input_schema=InputState, output_schema=OutputState)
    for name, node in (
        ("difficulty", difficulty),
        ("retrieve", retrieve),
        ("rerank", rerank),
        ("grade", grade),
        ("rewrite", rewrite),
        ("generate", generate),
    ):
        builder.add_node(name, timed(name, node))
    builder.add_edge(START, "difficulty")
    builder.add_edge("difficulty", "retrieve")
    builder.add_edge("retrieve", "rerank")
    builder.add_edge("rerank", "grade")
    builder.add_conditional_edges("grade", route_after_grade, ["rewrite", "generate"])
    builder.add_edge("rewrite", "retrieve")
    builder.add_edge("generate", END)
    return builder


def compile_graph(**kwargs):
    """Compile with the explicit recursion limit; kwargs (checkpointer, cache…) go to compile()."""
    return build_graph().compile(name="ragloop", **kwargs).with_config(recursion_limit=RECURSION_LIMIT)


graph = compile_graph()
