"""A conversation as chat messages: the question a run is asked, the turns before it, the answer's message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage

from ragloop.state import Turn

#: The name on the answers ragloop appends, so a parent agent can tell them from its own.
ANSWER_NAME = "ragloop"


def asked_in(messages: Sequence[BaseMessage] | None) -> str | None:
    """The question a chat client asks: the last message, when it is a human one (not yet answered)."""
    if messages and messages[-1].type == "human":
        return messages[-1].text
    return None


def turns_before(messages: Sequence[BaseMessage]) -> list[Turn]:
    """The (question, answer) turns before the last message: each human message and the AI reply after it."""
    turns: list[Turn] = []
    pending: str | None = None
    for message in messages[:-1]:
        if message.type == "human":
            pending = message.text
        elif message.type == "ai" and pending is not None and message.text.strip():
            turns.append({"question": pending, "answer": message.text})
            pending = None
    return turns


def answer_message(output: Mapping[str, Any]) -> AnyMessage:
    """The answer as one AIMessage; its response_metadata holds the citations, difficulty, budget and spend
    (what a chat client renders as sources and a compute note)."""
    compute = output.get("compute") or {}
    return AIMessage(
        content=output.get("answer") or "",
        name=ANSWER_NAME,
        response_metadata={
            "citations": list(output.get("citations") or []),
            "difficulty": dict(output.get("difficulty") or {}),
            "budget": dict(output.get("budget") or {}),
            "tokens": compute.get("tokens", 0),
            "stop_reason": compute.get("stop_reason", ""),
            "cost_usd": output.get("cost_usd", 0.0),
        },
    )
