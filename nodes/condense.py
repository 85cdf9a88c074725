"""condense: in a thread, turn a follow-up question into a standalone one before anything is searched."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.graph.context import Context, get_context
from ragloop.graph.state import State
from ragloop.nodes._shared import spent
from ragloop.prompts.condense import CONDENSE_PROMPT


def is_follow_up(state: State, ctx: Context) -> bool:
    """A question in a thread with earlier turns, read with history: it depends on the conversation."""
    return bool(state.get("history")) and bool(ctx.history_turns)


def condense(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    turns = state.get("history", [])[-ctx.history_turns:]
    history = "\n".join(f"Q: {t['question']}\nA: {t['answer']}" for t in turns)
    model = providers.chat_model(ctx, "condense", max_tokens=ctx.condense_max_tokens)
    reply = model.invoke(CONDENSE_PROMPT.format_messages(history=history, question=state["question"]))
    standalone = " ".join(reply.text.split()).strip().strip('"') or state["question"]
    return {"question": standalone, "query": standalone, **spent("condense", reply)}
