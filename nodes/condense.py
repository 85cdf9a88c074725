"""condense: in a thread, turn a follow-up question into a standalone one before anything is searched."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.logic.budget import affordable, call_cost
from ragloop.logic.usage import spent
from ragloop.prompts.condense import CONDENSE_PROMPT
from ragloop.settings import Context, get_context
from ragloop.state import State


async def condense(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    turns = state.get("history", [])[-ctx.history_turns :]
    history = "\n".join(f"Q: {t['question']}\nA: {t['answer']}" for t in turns)
    prompt = CONDENSE_PROMPT.format_messages(history=history, question=state["question"])
    if not affordable(ctx, state.get("usage"), call_cost(prompt, ctx.condense_max_tokens)):
        return {
            "degraded": ["condense: skipped to stay within max_tokens_per_query; the question is searched as asked"]
        }
    reply = await providers.ask(ctx, "condense", prompt, max_tokens=ctx.condense_max_tokens)
    standalone = " ".join(reply.text.split()).strip().strip('"') or state["question"]
    return {"question": standalone, "query": standalone, **spent("condense", reply)}
