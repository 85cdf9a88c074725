"""The graphs' state: a narrow input, a narrow output, the working state between, and explicit reducers.

`typing_extensions.TypedDict` (not `typing`'s) so that pydantic builds the input and
output JSON schemas on Python 3.11, which LangGraph Studio and ``graph.as_tool()`` need.
This package is the bottom layer with settings/: it imports nothing else of ragloop.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.documents import Document
from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import Field
from typing_extensions import TypedDict

from ragloop.state.records import Budget, Citation, Compute, Difficulty, Draft, Plan, Turn
from ragloop.state.reducers import merge_documents, merge_usage, sum_per_node

__all__ = [
    "Budget",
    "Citation",
    "Compute",
    "Difficulty",
    "Draft",
    "InputState",
    "OutputState",
    "Plan",
    "SampleState",
    "State",
    "Turn",
    "merge_documents",
    "merge_usage",
    "sum_per_node",
]


class InputState(TypedDict, total=False):
    """A question, or a conversation whose last message is a human one (the question; the turns before it
    are the history a follow-up is read with)."""

    question: Annotated[str, Field(description="The question to answer (or send `messages`).")]
    # The reducer stands last in Annotated: LangGraph reads it there, pydantic the Field's description.
    messages: Annotated[
        list[AnyMessage],
        Field(description="A conversation: its last human message is the question, the turns before it the history."),
        add_messages,
    ]
    filter: Annotated[
        dict[str, Any],
        Field(
            description='Search only chunks whose metadata matches: {"source": "a.md"}, {"title": ["A", "B"]}, '
            '{"year": {"$gte": 2020}}, {"$or": [...]}: LangChain\'s operators $eq $ne $in $nin $gt $gte $lt $lte '
            "$exists $and $or."
        ),
    ]


class OutputState(TypedDict, total=False):
    answer: str
    asked: str  # the question as asked
    question: str  # what was searched and answered: `asked`, made standalone from a thread's history
    citations: list[Citation]
    difficulty: Difficulty
    budget: Budget
    compute: Compute  # what was spent: tokens, samples, refine rounds, what was cut and why it stopped
    usage: Annotated[dict[str, dict[str, int]], merge_usage]  # per node
    usage_by_model: Annotated[dict[str, dict[str, int]], merge_usage]  # per model: what the price table reads
    cost_usd: float
    timings: Annotated[dict[str, float], sum_per_node]
    retries: Annotated[dict[str, int], sum_per_node]  # per node: attempts the RetryPolicy added
    rewrites: int
    warnings: Annotated[list[str], operator.add]
    messages: Annotated[list[AnyMessage], add_messages]  # the question and one AIMessage with the answer


class State(InputState, OutputState, total=False):
    query: str
    candidates: list[Document]
    reranked: list[Document]
    relevant: Annotated[list[Document], merge_documents]
    graded: Annotated[list[str], operator.add]  # ids of the documents graded this run: a rewrite grades only new ones
    plan: Plan
    history: Annotated[list[Turn], operator.add]  # a thread's earlier turns
    seal: str  # intake's token for this run: the state was derived in this run (logic/trust.py)
    node_runs: Annotated[list[tuple[str, str]], operator.add]  # (cached node, "hit" or "miss")
    drafts: Annotated[list[Draft], operator.add]  # filled in parallel by the generate fan-out
    refine_rounds: int
    degraded: Annotated[list[str], operator.add]  # what the token budget cut, in order
    stop_reason: str
    answer_id: str  # the id of the model call whose streamed tokens were the answer: the answer message keeps it


class SampleState(TypedDict):
    """What one generate task receives through Send."""

    question: str
    docs: list[Document]  # the documents this sample reads (its partition)
    numbers: list[int]  # their numbers among all the budget's documents, for citations
    sample: int
    partition: int
    sliced: bool  # one slice of a partition ensemble (it may reply "not found")
    may_abstain: bool  # the reranker is unsure (Context.abstain_prompt_below): it may reply "not found"
    temperature: float
    model: str
    level: str  # the question's difficulty level (recorded on the model call's trace)
    answers: bool  # the only sample, with no refinement after it: its reply is the answer, streamed
