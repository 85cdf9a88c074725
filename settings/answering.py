"""Grading, the rewrite loop, citations, conversation threads and the accepted question."""

from __future__ import annotations

from dataclasses import dataclass

from ragloop.settings.metadata import setting

#: A hard ceiling on query rewrites, whatever the Context says: the graph's recursion limit is derived from it.
MAX_REWRITES_CEILING = 10


@dataclass(kw_only=True)
class AnsweringSettings:
    grade_threshold: float = setting(
        0.2,
        "A document is relevant when the grader's p(yes) is at least this; lower keeps more of what a weak "
        "grader is unsure of.",
        ge=0.0,
        le=1.0,
    )
    answer_when_nothing_relevant: bool = setting(
        True,
        "When grading keeps nothing even after the rewrites, answer from the reranker's top documents (a "
        "warning says so; the model can still reply 'not found') instead of replying 'not found' outright.",
    )
    abstain_below: float | None = setting(
        None,
        "Answer 'Not found in the documents.' with no answer call when the reranker's best score is below this. "
        "None: 0.4 with the shipped cross-encoder (measured on its 0-1 scale), off with any other reranker "
        "(another scale: tune it with `ragloop bench answers --unanswerable`); -100: never.",
        ge=-100.0,
        le=100.0,
    )
    abstain_prompt_below: float | None = setting(
        None,
        "When the reranker's best score is below this, the answer prompts (the difficulty draft and each sample) "
        "tell the model it may reply 'Not found in the documents.'; such an answer ends the run as unanswerable. "
        "None: 0.9 with the shipped cross-encoder, off with any other reranker; -100: never; 100: always.",
        ge=-100.0,
        le=100.0,
    )
    min_relevant: int = setting(1, "Fewer relevant documents than this triggers a query rewrite.", ge=0, le=100)
    max_rewrites: int = setting(2, "Cap on query rewrites.", ge=0, le=MAX_REWRITES_CEILING)
    citation_min_share: float = setting(
        0.5,
        "An answer without [n] markers cites the passages it read that hold at least this share of its words "
        "(SQuAD-normalised); all of them when none does.",
        ge=0.0,
        le=1.0,
    )
    history_turns: int = setting(
        4,
        "In a thread (a checkpointer with a thread id), how many earlier turns the condense step reads to make a "
        "follow-up standalone (0 = never condense).",
        ge=0,
        le=100,
    )
    max_question_chars: int = setting(
        2000, "Longest question accepted, in characters.", kind="deployment", ge=1, le=1_000_000
    )
