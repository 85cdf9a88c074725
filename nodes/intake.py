"""intake: check the question and start the run afresh (a thread's earlier run leaves state behind)."""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from ragloop.logic.questions import validate_question
from ragloop.persistence.cache_keys import cache_scope
from ragloop.settings import Context, get_context
from ragloop.state import State


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
