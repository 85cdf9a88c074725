"""The graph's wiring.

    START → intake → lookup → END       when the answer cache holds this question under the same settings
    lookup → (condense: a follow-up in a thread) → retrieve → rerank → difficulty (first pass only) → grade
    difficulty → finish                 when an easy question's draft is its answer (Context.easy_from_draft)
    grade → rewrite → retrieve …        while too little is relevant and rewrites and tokens remain
    grade → plan ⇉ generate × N (Send)  → select → refine ⟲ (hard questions) → finish → remember → END

``graph`` is the compiled graph that ``langgraph.json`` exports: no checkpointer
is compiled in (the server brings its own), its cache is $RAGLOOP_CACHE_URL
(persistence/backends.py), and building it touches no model, index or network.
"""

from __future__ import annotations

from typing import Any

from langgraph.cache.base import BaseCache
from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from ragloop.graph.instrument import instrumented
from ragloop.graph.routing import (
    fan_out,
    route_after_difficulty,
    route_after_grade,
    route_after_lookup,
    route_after_refine,
    route_after_rerank,
    route_after_select,
)
from ragloop.nodes.answer_cache import make_lookup, make_remember
from ragloop.nodes.condense import condense
from ragloop.nodes.difficulty import difficulty
from ragloop.nodes.finish import finish
from ragloop.nodes.generate import generate
from ragloop.nodes.grade import grade
from ragloop.nodes.intake import intake
from ragloop.nodes.plan import plan_answers
from ragloop.nodes.refine import refine
from ragloop.nodes.rerank import make_rerank
from ragloop.nodes.retrieve import make_retrieve
from ragloop.nodes.rewrite import rewrite
from ragloop.nodes.select import select
from ragloop.persistence.backends import open_cache
from ragloop.providers.resilience import is_transient
from ragloop.settings import MAX_REFINE_CEILING, MAX_REWRITES_CEILING, Context
from ragloop.state import InputState, OutputState, State

#: Steps in the longest possible run: intake, lookup, condense, retrieve, rerank, difficulty, grade;
#: (rewrite, retrieve, rerank, grade) per rewrite; plan, generate, select; one per
#: refinement round; finish, remember; with headroom.
RECURSION_LIMIT = 7 + 4 * MAX_REWRITES_CEILING + 3 + MAX_REFINE_CEILING + 2 + 5


def default_retry() -> RetryPolicy:
    """Retry a node that called a provider on transient errors: 4 attempts, 1 s, 2 s, 4 s apart (±jitter)."""
    return RetryPolicy(
        max_attempts=4, initial_interval=1.0, backoff_factor=2.0, max_interval=30.0, jitter=True, retry_on=is_transient
    )


def build_graph(
    retry: RetryPolicy | None = None, cache: BaseCache | None = None
) -> StateGraph[State, Context, InputState, OutputState]:
    """The graph, uncompiled. `retry` is the RetryPolicy of every node that calls a provider; `cache` the
    cache its answers are kept in (the one it is compiled with)."""
    retry = retry or default_retry()
    builder = StateGraph(State, context_schema=Context, input_schema=InputState, output_schema=OutputState)
    for name, node, calls_provider in (
        ("intake", intake, False),
        ("lookup", make_lookup(cache), False),
        ("condense", condense, True),
        ("retrieve", make_retrieve(cache), True),
        ("rerank", make_rerank(cache), True),
        ("difficulty", difficulty, True),
        ("grade", grade, True),
        ("rewrite", rewrite, True),
        ("plan", plan_answers, False),
        ("generate", generate, True),
        ("select", select, True),
        ("refine", refine, True),
        ("finish", finish, False),
        ("remember", make_remember(cache), False),
    ):
        builder.add_node(name, instrumented(name, node), retry_policy=retry if calls_provider else None)
    builder.add_edge(START, "intake")
    builder.add_edge("intake", "lookup")
    builder.add_conditional_edges("lookup", route_after_lookup, ["condense", "retrieve", END])
    builder.add_edge("condense", "retrieve")
    builder.add_edge("retrieve", "rerank")
    builder.add_conditional_edges("rerank", route_after_rerank, ["difficulty", "grade"])
    builder.add_conditional_edges("difficulty", route_after_difficulty, ["grade", "finish"])
    builder.add_conditional_edges("grade", route_after_grade, ["rewrite", "plan"])
    builder.add_edge("rewrite", "retrieve")
    builder.add_conditional_edges("plan", fan_out, ["generate", "finish"])
    builder.add_edge("generate", "select")
    builder.add_conditional_edges("select", route_after_select, ["refine", "finish"])
    builder.add_conditional_edges("refine", route_after_refine, ["refine", "finish"])
    builder.add_edge("finish", "remember")
    builder.add_edge("remember", END)
    return builder


def compile_graph(retry: RetryPolicy | None = None, cache: BaseCache | None = None, **kwargs: Any):
    """Compile with the explicit recursion limit; kwargs (checkpointer…) go to compile(). The cache (if any)
    serves retrieve and rerank results and whole answers, under keys the nodes compute from their run."""
    builder = build_graph(retry, cache)
    return builder.compile(name="ragloop", **kwargs).with_config(recursion_limit=RECURSION_LIMIT)


graph = compile_graph(cache=open_cache())
