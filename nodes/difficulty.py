"""difficulty: how sure is the model of a quick draft answer? That sets the compute budget."""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from ragloop import providers
from ragloop.graph.context import Context, get_context
from ragloop.graph.state import State
from ragloop.nodes._shared import format_passages, hybrid_search, mean_token_probability, usage_of, validate_question
from ragloop.prompts.difficulty import DIFFICULTY_PROMPT


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


def budget_for(level: str, ctx: Context) -> dict[str, int]:
    """Documents given to the model, answers sampled, refinement rounds: each capped by Context."""
    table = {
        "easy": (ctx.top_n, 1, 0),
        "medium": (ctx.medium_docs, ctx.medium_samples, 0),
        "hard": (ctx.hard_docs, ctx.hard_samples, ctx.hard_refine_rounds),
    }
    docs, samples, rounds = table[level]
    return {
        "docs": max(1, min(docs, ctx.max_docs, ctx.k)),
        "samples": max(1, min(samples, ctx.max_samples)),
        "refine_rounds": max(0, min(rounds, ctx.max_refine_rounds)),
    }


def difficulty(state: State, runtime: Runtime[Context]) -> dict:
    ctx = get_context(runtime)
    question = validate_question(state.get("question"), ctx)
    # The draft reads the passages the rerank node will put first, so the grader's
    # prompt starts with the same tokens and a local model evaluates them once.
    candidates = hybrid_search(ctx, question)
    passages = providers.reranker(ctx).rerank(question, candidates, ctx.top_n)[: ctx.difficulty_passages]
    model = providers.chat_model(ctx, "difficulty", max_tokens=ctx.difficulty_max_tokens)
    draft = model.invoke(DIFFICULTY_PROMPT.format_messages(passages=format_passages(passages), question=question))
    confidence = mean_token_probability(draft)
    level, score = classify(confidence, ctx)
    warnings = [] if confidence is not None else [
        "The chat model returned no token logprobs, so difficulty defaulted to medium."
    ]
    # The first node starts a run afresh: accumulated fields are overwritten, not added to.
    return {
        "question": question,
        "query": question,
        "rewrites": 0,
        "difficulty": {
            "level": level,
            "score": None if score is None else round(score, 4),
            "confidence": None if confidence is None else round(confidence, 4),
            "signal": "logprob" if confidence is not None else "none",
        },
        "budget": budget_for(level, ctx),
        "usage": Overwrite({"difficulty": usage_of(draft)}),
        "relevant": Overwrite([]),
        "warnings": warnings,
    }
