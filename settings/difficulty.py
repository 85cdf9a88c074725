"""Difficulty settings: how sure the model (or the reranker) is, and where easy and hard begin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ragloop.settings.metadata import setting

Estimator = Literal["logprob", "verbal", "retrieval", "fixed"]


@dataclass(kw_only=True)
class DifficultySettings:
    difficulty_estimator: Estimator = setting(
        "logprob",
        "How difficulty is estimated: logprob (token probabilities of a short draft answer), verbal (the "
        "model states its confidence; for models without logprobs), retrieval (reranker scores, no model call) or "
        "fixed (always medium: benchmarks).",
    )
    difficulty_passages: int = setting(
        2,
        "Top reranked passages the difficulty draft answer reads (they open the grader's prompt too, so its "
        "prefix is cached).",
        ge=1,
        le=100,
    )
    easy_below: float = setting(
        0.25, "A question whose difficulty (1 - confidence) is below this is easy.", ge=0.0, le=1.0
    )
    hard_above: float = setting(
        0.6, "A question whose difficulty is above this is hard; between the two, medium.", ge=0.0, le=1.0
    )
    hard_retrieval_below: float = setting(
        0.0,
        "A question the draft left medium is hard when the reranker-score confidence (retrieval_confidence) is "
        "below this too, so it gets the hard row's documents (0 = off). Its scale depends on the reranker: "
        "measure it with `ragloop bench answers`.",
        ge=0.0,
        le=1.0,
    )
    retrieval_top_weight: float = setting(
        -0.86,
        "retrieval estimator: confidence = sigmoid(top_weight * s1 + margin_weight * (s1 - s5) + bias) over "
        "the reranker's first and fifth scores, read as the chance of a right answer. `ragloop bench answers` "
        "prints the fit for your model and data.",
        ge=-100.0,
        le=100.0,
    )
    retrieval_margin_weight: float = setting(
        2.26, "retrieval estimator: weight of the first-to-fifth score margin.", ge=-100.0, le=100.0
    )
    retrieval_bias: float = setting(-0.67, "retrieval estimator: bias inside the sigmoid.", ge=-100.0, le=100.0)
    easy_from_draft: bool = setting(
        True,
        "Easy questions are answered with the difficulty draft (logprob or verbal estimator), skipping "
        "grading and generation; the answer cites the passages it read that hold it.",
    )
