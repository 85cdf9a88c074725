"""refine: one round of critique against the passages, then revision (hard questions); the graph loops it."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.logic.answers import normalize_answer
from ragloop.logic.budget import affordable, call_cost, count, fitting, held, window, window_note
from ragloop.logic.passages import format_passages
from ragloop.logic.usage import spent
from ragloop.prompts.refine import CRITIQUE_PROMPT, NO_ISSUES, REVISE_PROMPT
from ragloop.settings import Context, get_context
from ragloop.state import State


async def refine(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    given = state.get("relevant", [])[: state["plan"]["docs"]]
    question, draft = state["question"], state["answer"]
    # the revision holds the critique's prompt, the critique and its own output: fit the passages to that
    docs = fitting(
        given,
        lambda some: REVISE_PROMPT.format_messages(
            passages=format_passages(some), question=question, draft=draft, critique=""
        ),
        2 * ctx.refine_max_tokens,
        window(ctx),
    )
    passages = format_passages(docs)
    trimmed = [window_note("refine", len(docs), len(given))] if len(docs) < len(given) else []
    budget = held(state["budget"], ctx)
    done = count(state.get("refine_rounds"), 0, budget["refine_rounds"])
    if done >= budget["refine_rounds"]:  # the rounds the Context grants are spent, whatever the state says
        return {"refine_rounds": done, "stop_reason": "refinement cap"}
    rounds = done + 1
    critique_prompt = CRITIQUE_PROMPT.format_messages(passages=passages, question=question, draft=draft)
    # A round is two calls; the revision's prompt is the critique's plus at most max_tokens of critique.
    cost = 2 * call_cost(critique_prompt, ctx.refine_max_tokens) + ctx.refine_max_tokens
    if not affordable(ctx, state.get("usage"), cost):
        return {
            "stop_reason": "token budget",
            "degraded": [*trimmed, f"refine: round {rounds} skipped to stay within max_tokens_per_query"],
        }
    options = {
        "max_tokens": ctx.refine_max_tokens,
        "model": budget["model"],
        "level": state["difficulty"].get("level", ""),
    }
    critique = await providers.ask(ctx, "refine", critique_prompt, **options)
    verdict = critique.text.strip()
    if not verdict or verdict.rstrip(".").upper() == NO_ISSUES:
        return {"refine_rounds": rounds, "stop_reason": "converged", "degraded": trimmed, **spent("refine", critique)}
    # the revision is the answer unless a later round changes it: its tokens stream
    revision = await providers.ask(
        ctx,
        "refine",
        REVISE_PROMPT.format_messages(passages=passages, question=question, draft=draft, critique=verdict),
        answers=True,
        **options,
    )
    revised = revision.text.strip()
    update = {"refine_rounds": rounds, "degraded": trimmed, **spent("refine", critique, revision)}
    if not revised:
        return {**update, "stop_reason": "converged"}
    revised_answer = {"answer": revised, **({"answer_id": revision.id} if revision.id else {})}
    if normalize_answer(revised) == normalize_answer(draft):
        return {**update, **revised_answer, "stop_reason": "converged"}
    return {**update, **revised_answer}
