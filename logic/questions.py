"""The question a run accepts, and whether it is a follow-up in a conversation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ragloop.errors import InputError
from ragloop.settings import Context


def validate_question(question: object, ctx: Context) -> str:
    """The question stripped, or InputError naming what is wrong with it."""
    if not isinstance(question, str) or not question.strip():
        raise InputError("The question is empty; ask a question in words.")
    question = question.strip()
    if len(question) > ctx.max_question_chars:
        raise InputError(
            f"The question is {len(question)} characters long, over the limit of "
            f"{ctx.max_question_chars}; shorten it or raise max_question_chars."
        )
    # a token per 3 bytes at most (logic/budget.py): past local_n_ctx bytes it could take a third of the window
    if ctx.chat_provider == "local" and len(question.encode()) > ctx.local_n_ctx:
        raise InputError(
            f"The question is too long for the local model's context window of {ctx.local_n_ctx} tokens "
            "(local_n_ctx), which must also hold the passages and the answer; shorten it."
        )
    return question


def is_follow_up(state: Mapping[str, Any], ctx: Context) -> bool:
    """A question in a thread with earlier turns, read with history: it depends on the conversation."""
    return bool(state.get("history")) and bool(ctx.history_turns)
