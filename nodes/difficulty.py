"""difficulty: how sure is the model (or the reranker) about this question? That sets the compute budget,
and a draft the model is sure of is the answer (Context.easy_from_draft)."""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document
from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.logic.abstention import may_abstain, weak_evidence
from ragloop.logic.answers import NOT_FOUND, UNANSWERABLE, found
from ragloop.logic.budget import affordable, budget_for, call_cost, fitting, window, window_note
from ragloop.logic.difficulty import classify, escalates, retrieval_confidence, stated_answer, stated_confidence
from ragloop.logic.logprobs import cut_off, mean_token_probability
from ragloop.logic.passages import format_passages
from ragloop.logic.usage import spent
from ragloop.prompts.difficulty import DIFFICULTY_PROMPTS, VERBAL_DIFFICULTY_PROMPT
from ragloop.settings import Context, get_context
from ragloop.state import State


def answered_by_draft(draft: str, read: list[Document]) -> dict:
    """The update that makes an easy question's draft its answer: no grading, no sampled answers.

    The passages the draft read stand as the relevant documents, so the answer cites them. A draft that
    says the passages do not hold the answer ends the run as unanswerable.
    """
    if not found(draft):
        return abstained("The difficulty draft, sure of itself, found no answer in the top passages.")
    return {
        "answer": draft,
        "relevant": read,
        "budget": {
            "docs": len(read),
            "samples": 0,
            "partitions": 0,
            "refine_rounds": 0,
            "model": "",
            "from_draft": True,
        },
        "plan": {"samples": 0, "partitions": 0, "docs": len(read), "slices": []},
        "stop_reason": "easy: answered with the difficulty draft",
    }


def abstained(why: str) -> dict:
    """The update that ends the run unanswered: a budget of no documents, so nothing is graded or sampled."""
    return {
        "answer": NOT_FOUND,
        "relevant": [],
        "budget": {"docs": 0, "samples": 0, "partitions": 0, "refine_rounds": 0, "model": ""},
        "plan": {"samples": 0, "partitions": 0, "docs": 0, "slices": []},
        "stop_reason": UNANSWERABLE,
        "warnings": [why],
    }


async def difficulty(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    docs = state.get("reranked", [])
    if why := weak_evidence(docs, ctx):  # no draft, no grading: the documents do not hold it
        _, signals = retrieval_confidence(docs, ctx)
        return {**abstained(why), "difficulty": {"estimator": "retrieval", **signals}}
    read = docs[: ctx.difficulty_passages]  # what the draft answers from
    abstains = may_abstain(docs, ctx)  # whether the draft may say "not found"
    estimator, confidence, answer = ctx.difficulty_estimator, None, ""
    update: dict[str, Any] = {}
    answers = False  # whether the draft can stand as the answer: a whole reply (an answer, or "not found")
    if estimator in ("logprob", "verbal"):
        prompt = DIFFICULTY_PROMPTS[abstains] if estimator == "logprob" else VERBAL_DIFFICULTY_PROMPT

        def messages_for(some):
            return prompt.format_messages(passages=format_passages(some), question=state["question"])

        given, read = len(read), fitting(read, messages_for, ctx.difficulty_max_tokens, window(ctx))
        if len(read) < given:
            update["degraded"] = [window_note("difficulty", len(read), given)]
        messages = messages_for(read)
        if affordable(ctx, state.get("usage"), call_cost(messages, ctx.difficulty_max_tokens)):
            draft = await providers.ask(ctx, "difficulty", messages, max_tokens=ctx.difficulty_max_tokens)
            update.update(spent("difficulty", draft))
            if estimator == "logprob":
                confidence, answer = mean_token_probability(draft), draft.text.strip()
            else:
                confidence, answer = stated_confidence(draft.text), stated_answer(draft.text)
            # a draft cut at its token cap is no answer; "not found" is one only when answers may abstain
            answers = (found(answer) or abstains) and not cut_off(draft)
            if confidence is None:
                what = "token logprobs" if estimator == "logprob" else "a confidence the reply stated"
                update["warnings"] = [f"The chat model returned no {what}; difficulty estimated from retrieval."]
        else:
            update["degraded"] = [
                *update.get("degraded", []),
                "difficulty: the draft answer would pass max_tokens_per_query; estimated from retrieval scores instead",
            ]
        if confidence is None:
            estimator = "retrieval"
    # free (no model call), so recorded whatever the estimator: benchmarks compare the two signals
    from_retrieval, signals = retrieval_confidence(docs, ctx)
    if estimator == "retrieval":
        confidence = from_retrieval
    level, score = classify(confidence, ctx)
    judged_by_draft = estimator != "retrieval"  # a draft's confidence set the level (no fallback)
    escalated = judged_by_draft and escalates(level, from_retrieval, ctx)
    level = "hard" if escalated else level
    update["difficulty"] = {
        "level": level,
        "score": None if score is None else round(score, 4),
        "confidence": None if confidence is None else round(confidence, 4),
        "estimator": estimator,
        **signals,
        "retrieval_confidence": None if from_retrieval is None else round(from_retrieval, 4),
        **({"draft": answer} if answer else {}),
        **({"escalated": "the reranker is unsure too (hard_retrieval_below)"} if escalated else {}),
    }
    if level == "easy" and judged_by_draft and ctx.easy_from_draft and answers:
        return {**update, **answered_by_draft(answer, read)}
    return {**update, "budget": budget_for(level, ctx)}
