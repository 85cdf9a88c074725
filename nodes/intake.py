"""intake: check the question and start the run afresh (a thread's earlier run leaves state behind)."""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from ragloop.graph.caching import cache_scope
from ragloop.graph.context import Context, get_context
from ragloop.graph.state import State
from ragloop.nodes._shared import validate_question


def intake(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    question = validate_question(state.get("question"), ctx)
    return {
        "cache_scope": cache_scope(ctx),
        "asked": question,
        "question": question,
        "query": question,
        "rewrites": 0,
        "refine_rounds": 0,
        "difficulty": {},
        "budget": {},
        "plan": {},
        "stop_reason": "",
        "compute": {},
        # Accumulated fields are overwritten, not added to.
        "usage": Overwrite({}),
        "usage_by_model": Overwrite({}),
        "retries": Overwrite({}),
        "relevant": Overwrite([]),
        "graded": Overwrite([]),
        "drafts": Overwrite([]),
        "degraded": Overwrite([]),
        "warnings": Overwrite([]),
        "node_runs": Overwrite([]),
    }
