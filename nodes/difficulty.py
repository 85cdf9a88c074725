"""difficulty: how sure is the model (or the reranker) about this question? That sets the compute budget,
and a draft the model is sure of is the answer (Context.easy_from_draft)."""

from __future__ import annotations

import math
import re

from langchain_core.documents import Document
from langgraph.runtime import Runtime

from ragloop import providers
from ragloop.graph.context import Context, get_context
from ragloop.graph.state import State
from ragloop.nodes._budget import affordable, call_cost
from ragloop.nodes._shared import cut_off, format_passages, mean_token_probability, spent
from ragloop.nodes.select import found
from ragloop.prompts.difficulty import DIFFICULTY_PROMPT, VERBAL_DIFFICULTY_PROMPT

_STATED = re.compile(r"confidence\s*[:=]?\s*(\d+(?:\.\d+)?)\s*(%?)", flags=re.I)
_ANSWER_LABEL = re.compile(r"^\s*answer\s*:\s*", flags=re.I)


def classify(confidence: float | None, ctx: Context) -> tuple[str, float | None]:
    """(level, difficulty score) with difficulty = 1 - confidence; medium when unknown."""
    if confidence is None:
        return "medium", None
    score = 1.0 - confidence
    if score < ctx.easy_below:
        return "easy", score
    if score > ctx.hard_above:
        return "hard", score
    return "medium", score


def escalates(level: str, from_retrieval: float | None, ctx: Context) -> bool:
    """Whether a medium question is hard because the reranker is unsure too (Context.hard_retrieval_below)."""
    return level == "medium" and from_retrieval is not None and from_retrieval < ctx.hard_retrieval_below


def budget_for(level: str, ctx: Context) -> dict:
    """The budget table's row for a level (Context `{level}_*` fields), each entry capped by Context."""
    docs = ctx.top_n if level == "easy" else getattr(ctx, f"{level}_docs")
    samples = max(1, min(getattr(ctx, f"{level}_samples"), ctx.max_samples))
    return {
        "docs": max(1, min(docs, ctx.max_docs, ctx.k)),
        "samples": samples,
        "partitions": max(1, min(getattr(ctx, f"{level}_partitions"), samples)),
        "refine_rounds": max(0, min(getattr(ctx, f"{level}_refine_rounds"), ctx.max_refine_rounds)),
        "model": getattr(ctx, f"{level}_chat_model"),
    }


def stated_confidence(text: str) -> float | None:
    """The confidence a reply states (`Confidence: 80`, `80%` or `0.8`), as a probability."""
    match = _STATED.search(text)
    if not match:
        return None
    value = float(match.group(1))
    value = value / 100 if match.group(2) or value > 1 else value
    return min(1.0, max(0.0, value))


def stated_answer(text: str) -> str:
    """The answer a verbal draft states: without its `Answer:` label and `Confidence:` line."""
    stated = _STATED.search(text)
    return _ANSWER_LABEL.sub("", text[: stated.start()] if stated else text).strip()


def answered_by_draft(draft: str, read: list[Document]) -> dict:
    """The update that makes an easy question's draft its answer: no grading, no sampled answers.

    The passages the draft read stand as the relevant documents, so the answer cites them.
    """
    return {
        "answer": draft,
        "relevant": read,
        "budget": {"docs": len(read), "samples": 0, "partitions": 0, "refine_rounds": 0, "model": "",
                   "from_draft": True},
        "plan": {"samples": 0, "partitions": 0, "docs": len(read), "slices": []},
        "stop_reason": "easy: answered with the difficulty draft",
    }


def retrieval_confidence(docs: list[Document], ctx: Context) -> tuple[float | None, dict]:
    """sigmoid(w_top * s1 + w_margin * (s1 - s5) + bias) over the reranker's first and fifth scores."""
    scores = [d.metadata.get("rerank_score") for d in docs[:5]]
    if not scores or any(s is None for s in scores):
        return None, {}
    top, margin = scores[0], scores[0] - scores[-1]
    z = ctx.retrieval_top_weight * top + ctx.retrieval_margin_weight * margin + ctx.retrieval_bias
    return 1 / (1 + math.exp(-max(-60.0, min(60.0, z)))), {"top_score": round(top, 4), "margin": round(margin, 4)}


def difficulty(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    docs = state.get("reranked", [])
    read = docs[: ctx.difficulty_passages]  # what the draft answers from
    estimator, update, signals, confidence, answer = ctx.difficulty_estimator, {}, {}, None, ""
    answers = False  # whether the draft can stand as the answer: a whole reply that found one
    if estimator in ("logprob", "verbal"):
        prompt = DIFFICULTY_PROMPT if estimator == "logprob" else VERBAL_DIFFICULTY_PROMPT
        messages = prompt.format_messages(passages=format_passages(read), question=state["question"])
        if affordable(ctx, state.get("usage"), call_cost(messages, ctx.difficulty_max_tokens)):
            model = providers.chat_model(ctx, "difficulty", max_tokens=ctx.difficulty_max_tokens)
            draft = model.invoke(messages)
            update.update(spent("difficulty", draft))
            if estimator == "logprob":
                confidence, answer = mean_token_probability(draft), draft.text.strip()
            else:
                confidence, answer = stated_confidence(draft.text), stated_answer(draft.text)
            answers = found(answer) and not cut_off(draft)  # a draft cut at its token cap is no answer
            if confidence is None:
                what = "token logprobs" if estimator == "logprob" else "a confidence the reply stated"
                update["warnings"] = [f"The chat model returned no {what}; difficulty estimated from retrieval."]
        else:
            update["degraded"] = ["difficulty: the draft answer would pass max_tokens_per_query; "
                                  "estimated from retrieval scores instead"]
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
