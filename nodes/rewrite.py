"""rewrite: a new search query when too little was relevant; counted against max_rewrites."""

from __future__ import annotations

from langchain_core.messages import BaseMessage
from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.logic.budget import affordable, call_cost, count
from ragloop.logic.usage import spent
from ragloop.prompts.rewrite import REWRITE_PROMPT
from ragloop.settings import Context, get_context
from ragloop.state import State


def rewrite_prompt(state: State) -> list[BaseMessage]:
    return REWRITE_PROMPT.format_messages(question=state["question"], query=state.get("query") or state["question"])


def rewrite_affordable(state: State, ctx: Context) -> bool:
    return affordable(ctx, state.get("usage"), call_cost(rewrite_prompt(state), ctx.rewrite_max_tokens))


async def rewrite(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    level = state["difficulty"].get("level", "")
    reply = await providers.ask(ctx, "rewrite", rewrite_prompt(state), max_tokens=ctx.rewrite_max_tokens, level=level)
    new_query = " ".join(reply.text.split()).strip().strip('"') or state["question"]
    return {
        "query": new_query,
        "rewrites": count(state.get("rewrites"), 0, ctx.max_rewrites) + 1,
        **spent("rewrite", reply),
    }
