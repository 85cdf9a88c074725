"""Where the graph goes next: each conditional edge is one named function."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Send

from ragloop.logic.abstention import may_abstain
from ragloop.logic.answers import found
from ragloop.logic.budget import count, held
from ragloop.logic.questions import is_follow_up
from ragloop.nodes.rewrite import rewrite_affordable
from ragloop.settings import Context, get_context
from ragloop.state import SampleState, State


def route_after_lookup(state: State, runtime: Runtime[Context]) -> Literal["condense", "retrieve", "__end__"]:
    """An answer from the answer cache ends the run; a follow-up in a thread is made standalone first;
    a first question goes straight to search."""
    if (state.get("compute") or {}).get("answer_cache"):
        return "__end__"  # END
    return "condense" if is_follow_up(state, get_context(runtime)) else "retrieve"


def route_after_rerank(state: State) -> Literal["difficulty", "grade"]:
    """The first pass estimates difficulty (which sets the budget); rewrite passes go straight to grading."""
    return "grade" if state.get("budget") else "difficulty"


def route_after_difficulty(state: State) -> Literal["grade", "finish"]:
    """An easy question the difficulty draft answered (Context.easy_from_draft), or one the reranker's scores
    say the documents do not answer (Context.abstain_below: a budget of no documents), is done; any other is
    graded."""
    budget = state["budget"]
    return "finish" if budget.get("from_draft") or not budget.get("docs") else "grade"


def route_after_grade(state: State, runtime: Runtime[Context]) -> Literal["rewrite", "plan"]:
    """Rewrite while too few documents are relevant, rewrites remain and the token budget allows one."""
    ctx = get_context(runtime)
    enough = len(state.get("relevant", [])) >= ctx.min_relevant
    rewrites = count(state.get("rewrites"), 0, ctx.max_rewrites)
    if enough or rewrites >= ctx.max_rewrites or not rewrite_affordable(state, ctx):
        return "plan"
    return "rewrite"


def fan_out(state: State, runtime: Runtime[Context]) -> list[Send] | Literal["finish"]:
    """One generate task per planned sample, sample i reading partition i mod P; parallel where the provider
    allows. The plan is held to the budget and the budget to the Context: never more tasks than it grants."""
    ctx = get_context(runtime)
    plan, budget = state["plan"], held(state["budget"], ctx)
    samples = count(plan.get("samples"), 0, budget["samples"])
    partitions = count(plan.get("partitions"), 1, max(1, budget["partitions"]))
    if not samples:
        return "finish"
    docs = state["relevant"][: count(plan.get("docs"), 1, budget["docs"])]
    # Several samples of the same documents need temperature to differ; one per slice does not.
    temperature = ctx.sample_temperature if samples > partitions else ctx.temperature
    # One sample and no refinement after it: that reply is the answer, so its tokens stream to the client.
    answers = samples == 1 and not budget["refine_rounds"]
    abstains = may_abstain(state.get("reranked", []), ctx)
    sends = []
    for i in range(samples):
        numbers = [n for n in plan["slices"][i % partitions] if 1 <= n <= len(docs)]
        task = SampleState(
            question=state["question"],
            docs=[docs[n - 1] for n in numbers],
            numbers=numbers,
            sample=i,
            partition=i % partitions,
            sliced=partitions > 1,
            may_abstain=abstains,
            temperature=temperature,
            model=budget.get("model", ""),
            level=state["difficulty"].get("level", ""),
            answers=answers,
        )
        sends.append(Send("generate", task))
    return sends


def route_after_select(state: State) -> Literal["refine", "finish"]:
    """Refine a found answer when the budget grants refinement rounds (the refine node holds the budget to
    the Context: a round the Context does not grant stops there, with no model call)."""
    return "refine" if state["budget"].get("refine_rounds") and found(state.get("answer", "")) else "finish"


def route_after_refine(state: State) -> Literal["refine", "finish"]:
    """Another round until the answer converges, the rounds run out or the token budget stops it."""
    if state.get("stop_reason") or state.get("refine_rounds", 0) >= state["budget"]["refine_rounds"]:
        return "finish"
    return "refine"
