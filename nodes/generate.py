"""generate: one sampled answer from the documents, or from one slice of them (a Send task)."""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate
from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.graph.context import Context, get_context
from ragloop.graph.state import SampleState
from ragloop.nodes._shared import format_passages, mean_token_probability, renumber_citations, spent
from ragloop.prompts.generate import GENERATE_PROMPT, SLICE_PROMPT


def answer_prompt(sliced: bool) -> ChatPromptTemplate:
    """A slice of a partition ensemble may lack the answer and may say so; the whole list answers."""
    return SLICE_PROMPT if sliced else GENERATE_PROMPT


def generate(state: SampleState, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    model = providers.chat_model(
        ctx, "generate", max_tokens=ctx.generate_max_tokens, temperature=state["temperature"],
        seed=ctx.seed + state["sample"], model=state["model"],
    )
    prompt = answer_prompt(state["sliced"])
    reply = model.invoke(prompt.format_messages(passages=format_passages(state["docs"]), question=state["question"]))
    draft = {
        "text": renumber_citations(reply.text.strip(), state["numbers"]),
        "sample": state["sample"],
        "partition": state["partition"],
        "confidence": mean_token_probability(reply),
    }
    return {"drafts": [draft], **spent("generate", reply)}
