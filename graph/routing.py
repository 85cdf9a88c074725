"""Where the graph goes after grading: rewrite and retrieve again, or answer."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime

from ragloop.graph.context import Context, get_context
from ragloop.graph.state import State


def route_after_grade(state: State, runtime: Runtime[Context]) -> Literal["rewrite", "generate"]:
    """Rewrite while too few documents are relevant and rewrites remain; otherwise answer."""
    ctx = get_context(runtime)
    enough = len(state.get("relevant", [])) >= ctx.min_relevant
    if enough or state.get("rewrites", 0) >= ctx.max_rewrites:
        return "generate"
    return "rewrite"
