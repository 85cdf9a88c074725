"""intake: take the question (from `question`, or the last human message of `messages`), check it, and start
the run afresh (a thread's earlier run leaves state behind). The seal it writes tells later nodes that the
state they read was derived in this run (logic/trust.py)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from ragloop.logic import filters
from ragloop.logic.messages import asked_in, turns_before
from ragloop.logic.questions import validate_question
from ragloop.logic.trust import seal
from ragloop.settings import Context, get_context
from ragloop.state import State


def intake(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    messages = state.get("messages") or []
    from_messages = asked_in(messages)
    question = validate_question(state.get("question") if from_messages is None else from_messages, ctx)
    filters.parse(state.get("filter"))  # a malformed filter is one sentence now, before any search
    conversation: dict[str, Any]
    if from_messages is None:  # asked as `question`: the conversation gets it as a human message
        conversation = {"messages": [HumanMessage(question)]}
    else:  # asked in `messages`: the turns before it are the history a follow-up is read with
        conversation = {"history": Overwrite(turns_before(messages))}
    return {
        **conversation,
        "seal": seal(),
        "asked": question,
        "question": question,
        "query": question,
        "rewrites": 0,
        "refine_rounds": 0,
        "difficulty": {},
        "budget": {},
        "plan": {},
        "stop_reason": "",
        "answer": "",
        "answer_id": "",
        "citations": [],
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
