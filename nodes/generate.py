"""generate: one sampled answer from the documents, or from one slice of them (a Send task)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.logic.budget import allowed_model
from ragloop.logic.citations import renumber_citations
from ragloop.logic.logprobs import mean_token_probability
from ragloop.logic.passages import format_passages
from ragloop.logic.usage import spent
from ragloop.prompts.generate import ANSWER_PROMPTS
from ragloop.settings import Context, get_context
from ragloop.state import SampleState


async def generate(state: SampleState, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    prompt = ANSWER_PROMPTS[state["sliced"] or state.get("may_abstain", False)]
    reply = await providers.ask(
        ctx,
        "generate",
        prompt.format_messages(passages=format_passages(state["docs"]), question=state["question"]),
        max_tokens=ctx.generate_max_tokens,
        temperature=state["temperature"],
        seed=ctx.seed + state["sample"],
        model=allowed_model(state["model"], ctx),
        level=state.get("level", ""),
        answers=state.get("answers", False),
    )
    draft = {
        "text": renumber_citations(reply.text.strip(), state["numbers"]),
        "sample": state["sample"],
        "partition": state["partition"],
        "confidence": mean_token_probability(reply),
        **({"id": reply.id} if state.get("answers") and reply.id else {}),
    }
    return {"drafts": [draft], **spent("generate", reply)}
