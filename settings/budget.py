"""The budget table: what each difficulty level may spend (documents, samples, slices, refinement, model),
how one answer is picked from several, and the caps no row may pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from ragloop.settings.metadata import RERANK, setting

Level = Literal["easy", "medium", "hard"]
LEVELS: tuple[Level, ...] = ("easy", "medium", "hard")
Selection = Literal["vote", "confidence", "verifier", "merge"]
#: A hard ceiling on refinement rounds, whatever the Context says: the graph's recursion limit is derived from it.
MAX_REFINE_CEILING = 10


class BudgetRow(NamedTuple):
    """One level's row of the budget table, as configured (before the caps)."""

    docs: int | None  # None: the reranker's top_n (the easy row)
    samples: int
    partitions: int
    refine_rounds: int
    chat_model: str


def _samples(level: str) -> str:
    return f"Budget table, {level}: answers sampled (best-of-N)."


def _partitions(level: str) -> str:
    return f"Budget table, {level}: disjoint document slices the samples answer from (1 = all see every document)."


def _model(level: str) -> str:
    return f"Budget table, {level}: chat model for answers ('' = the provider's chat model)."


@dataclass(kw_only=True)
class BudgetTable:
    easy_samples: int = setting(1, _samples("easy"), ge=1, le=64)
    easy_refine_rounds: int = setting(0, "Budget table, easy: refinement rounds.", ge=0, le=MAX_REFINE_CEILING)
    easy_partitions: int = setting(1, _partitions("easy"), ge=1, le=64)
    easy_chat_model: str = setting("", _model("easy"), kind="deployment")
    medium_docs: int = setting(
        2, "Budget table, medium: documents given to the model.", ge=1, le=100, invalidates=RERANK
    )
    medium_samples: int = setting(1, _samples("medium"), ge=1, le=64)
    medium_refine_rounds: int = setting(0, "Budget table, medium: refinement rounds.", ge=0, le=MAX_REFINE_CEILING)
    medium_partitions: int = setting(1, _partitions("medium"), ge=1, le=64)
    medium_chat_model: str = setting("", _model("medium"), kind="deployment")
    hard_docs: int = setting(2, "Budget table, hard: documents given to the model.", ge=1, le=100, invalidates=RERANK)
    hard_samples: int = setting(1, _samples("hard"), ge=1, le=64)
    hard_refine_rounds: int = setting(0, "Budget table, hard: refinement rounds.", ge=0, le=MAX_REFINE_CEILING)
    hard_partitions: int = setting(1, _partitions("hard") + " A context-partition ensemble.", ge=1, le=64)
    hard_chat_model: str = setting("", _model("hard"), kind="deployment")
    selection: Selection = setting(
        "vote",
        "How one answer is picked from several: vote (majority of normalised answers), confidence (highest "
        "token probability), verifier (the model checks each against the passages) or merge (the model writes one "
        "answer from all of them).",
    )
    max_docs: int = setting(20, "Cap on documents passed to the model.", ge=1, le=100, invalidates=RERANK)
    max_samples: int = setting(8, "Cap on answers sampled per question.", ge=1, le=64)
    max_refine_rounds: int = setting(3, "Cap on refinement rounds.", ge=0, le=MAX_REFINE_CEILING)
    max_tokens_per_query: int = setting(
        0,
        "Token budget of one question, input + output over every model call (0 = none). A call that would pass "
        "it is skipped: fewer samples, no refinement, no grading; the question is still answered.",
        ge=0,
        le=10_000_000,
    )
    hard_token_budget: bool = setting(
        False,
        "When true, no model call passes max_tokens_per_query, not even the one answer a question otherwise "
        "always gets: a question the budget cannot answer ends with stop reason 'token budget'. A shared server "
        "with a daily token budget sets it on every run, with max_tokens_per_query the tokens it granted.",
    )

    def row(self, level: Level) -> BudgetRow:
        """The table's row for a level, as configured."""
        if level == "easy":
            return BudgetRow(
                None, self.easy_samples, self.easy_partitions, self.easy_refine_rounds, self.easy_chat_model
            )
        if level == "medium":
            return BudgetRow(
                self.medium_docs,
                self.medium_samples,
                self.medium_partitions,
                self.medium_refine_rounds,
                self.medium_chat_model,
            )
        return BudgetRow(
            self.hard_docs, self.hard_samples, self.hard_partitions, self.hard_refine_rounds, self.hard_chat_model
        )
