"""select: one answer from the sampled drafts, by vote, confidence, a verifier or a merge prompt."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.logic.answers import NOT_FOUND, found, majority, normalize_answer
from ragloop.logic.budget import affordable, call_cost, fitting, held, window, window_note
from ragloop.logic.logprobs import yes_probabilities
from ragloop.logic.passages import format_passages
from ragloop.logic.usage import spent, usage_of
from ragloop.prompts.select import MERGE_PROMPT, VERIFY_PROMPT
from ragloop.settings import Context, get_context
from ragloop.state import Draft, State


async def select(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    drafts: list[Draft] = sorted(state.get("drafts", []), key=lambda d: d["sample"])
    # A slice without the answer says "not found"; that is no vote against the slices that found it.
    answers = [d for d in drafts if found(d["text"])]
    # the only sample's tokens were streamed as the answer: the answer message keeps that reply's id
    streamed = {"answer_id": drafts[0]["id"]} if len(drafts) == 1 and drafts[0].get("id") else {}
    if not answers:
        return {"answer": NOT_FOUND, **streamed}
    if len(answers) == 1 or ctx.selection == "vote":
        return {"answer": majority([d["text"] for d in answers]), **streamed}
    if ctx.selection == "confidence":
        if all(d["confidence"] is None for d in answers):
            return {
                "answer": majority([d["text"] for d in answers]),
                "warnings": ["selection=confidence: the model returned no logprobs, so the answers were voted on."],
            }
        return {"answer": max(answers, key=lambda d: d["confidence"] or 0.0)["text"]}  # max keeps the earliest tie

    given = state.get("relevant", [])[: state["plan"]["docs"]]
    question, usage = state["question"], dict(state.get("usage") or {})
    listed = "\n".join(f"{i}. {d['text']}" for i, d in enumerate(answers, start=1))
    longest = max((d["text"] for d in answers), key=len)

    def merge_prompt(some):
        return MERGE_PROMPT.format_messages(passages=format_passages(some), question=question, candidates=listed)

    def verify_prompt(some, answer: str = longest):
        return VERIFY_PROMPT.format_messages(passages=format_passages(some), question=question, answer=answer)

    if ctx.selection == "merge":
        docs = fitting(given, merge_prompt, ctx.generate_max_tokens, window(ctx))
    else:
        docs = fitting(given, verify_prompt, ctx.grade_max_tokens, window(ctx))
    replies: list[AIMessage] = []
    cut = []
    model = held(state["budget"], ctx)["model"]

    async def call(messages, max_tokens: int, answers: bool = False) -> AIMessage | None:
        so_far = {**usage, "select": usage_of(*replies)}
        if not affordable(ctx, so_far, call_cost(messages, max_tokens)):
            cut.append(ctx.selection)
            return None
        level = state["difficulty"].get("level", "")
        reply = await providers.ask(
            ctx, "select", messages, max_tokens=max_tokens, model=model, level=level, answers=answers
        )
        replies.append(reply)
        return reply

    answer, merged = None, {}
    if ctx.selection == "merge":  # the merge's reply is the answer: its tokens stream
        reply = await call(merge_prompt(docs), ctx.generate_max_tokens, answers=True)
        if reply is not None:
            answer = reply.text.strip()
            merged = {"answer_id": reply.id} if answer and reply.id else {}
    else:  # verifier: p(yes) that each distinct answer is right
        scores: dict[str, float] = {}
        for d in answers:
            key = normalize_answer(d["text"])
            if key not in scores:
                reply = await call(verify_prompt(docs, d["text"]), ctx.grade_max_tokens)
                if reply is None:  # the budget stopped the verifier: vote instead
                    scores = {}
                    break
                scores[key] = yes_probabilities(reply, 1)[0] or 0.0
        if scores:
            answer = max(answers, key=lambda d: scores[normalize_answer(d["text"])])["text"]
    update = spent("select", *replies) if replies else {}
    update["degraded"] = [window_note("select", len(docs), len(given))] if len(docs) < len(given) else []
    if cut:
        update["degraded"].append(f"select: {ctx.selection} skipped to stay within max_tokens_per_query; voted instead")
    return {**update, **merged, "answer": answer or majority([d["text"] for d in answers])}
