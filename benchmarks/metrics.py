"""Metric functions: ranking quality, SQuAD answer scores, percentiles and bootstrap intervals.

Ranking metrics take the ranked ids (best first) and the relevant ids with
their gain (``{id: gain}``; a set means gain 1 for each). nDCG uses linear
gains as trec_eval does; given the ranking's scores it is tie-aware (McSherry
& Najork, 2008): documents with equal scores share the mean gain of their
group, so the order a tie happens to be broken in does not change the result.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from ragloop.logic.answers import normalize_answer

Relevant = Mapping[str, float] | set[str] | frozenset[str]


def _gains(relevant: Relevant) -> Mapping[str, float]:
    return relevant if isinstance(relevant, Mapping) else dict.fromkeys(relevant, 1.0)


def _discount(rank: int) -> float:
    return 1.0 / math.log2(rank + 2)


def ndcg_at(ranked: Sequence[str], relevant: Relevant, k: int = 10, scores: Sequence[float] | None = None) -> float:
    """nDCG@k with linear gains; tie-aware when the ranking's scores are given."""
    gains = _gains(relevant)
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    idcg = sum(g * _discount(i) for i, g in enumerate(ideal))
    if idcg == 0:
        return 0.0
    per_rank = [gains.get(doc, 0.0) for doc in ranked]
    if scores is not None:
        if len(scores) != len(ranked):
            raise ValueError("scores must have one value per ranked id")
        start = 0
        while start < len(ranked):  # average the gains over each run of equal scores
            end = start + 1
            while end < len(ranked) and scores[end] == scores[start]:
                end += 1
            mean = sum(per_rank[start:end]) / (end - start)
            per_rank[start:end] = [mean] * (end - start)
            start = end
    return sum(g * _discount(i) for i, g in enumerate(per_rank[:k])) / idcg


def recall_at(ranked: Sequence[str], relevant: Relevant, k: int) -> float:
    """Share of the relevant ids found in the top k."""
    wanted = {doc for doc, g in _gains(relevant).items() if g > 0}
    return len(wanted.intersection(ranked[:k])) / len(wanted) if wanted else 0.0


def precision_at(ranked: Sequence[str], relevant: Relevant, k: int) -> float:
    """Share of the top k that is relevant (divided by k even when fewer were returned)."""
    wanted = {doc for doc, g in _gains(relevant).items() if g > 0}
    return sum(doc in wanted for doc in ranked[:k]) / k


def mrr_at(ranked: Sequence[str], relevant: Relevant, k: int = 10) -> float:
    """1 / rank of the first relevant id within the top k, else 0."""
    gains = _gains(relevant)
    return next((1 / (i + 1) for i, doc in enumerate(ranked[:k]) if gains.get(doc, 0) > 0), 0.0)


# --- answers (the SQuAD v1.1 evaluation script's definitions) ----------------------------
def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised gold answer."""
    norm = normalize_answer(prediction)
    return float(any(norm == normalize_answer(g) for g in golds))


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """Best token-overlap F1 of the prediction against the gold answers."""
    return max((_f1(normalize_answer(prediction).split(), normalize_answer(g).split()) for g in golds), default=0.0)


def _f1(pred: list[str], gold: list[str]) -> float:
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the chance a random positive scores above a random negative (ties count half).

    None when either class is missing.
    """
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def logistic_fit(
    features: Sequence[Sequence[float]], labels: Sequence[bool], *, l2: float = 0.1, iterations: int = 100
) -> tuple[list[float], float] | None:
    """(weights, bias) of P(label) = sigmoid(weights . x + bias), fitted by Newton's method with an L2
    penalty on the weights (the bias is free), so separable data still gives finite weights.

    None when either class is missing.
    """
    y = np.asarray(labels, dtype=np.float64)
    if len(y) == 0 or y.min() == y.max():
        return None
    x = np.hstack([np.asarray(features, dtype=np.float64).reshape(len(y), -1), np.ones((len(y), 1))])
    penalty = np.diag([l2] * (x.shape[1] - 1) + [0.0])
    w = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -60, 60)))
        step = np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x + penalty, x.T @ (p - y) + penalty @ w)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return [float(v) for v in w[:-1]], float(w[-1])


# --- summaries --------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation; 0.0 for no values."""
    return float(np.percentile(values, q)) if len(values) else 0.0


def bootstrap_mean(
    values: Sequence[float] | np.ndarray, *, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high): the mean and its 95% percentile-bootstrap interval."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        return 0.0, 0.0, 0.0
    idx = np.random.default_rng(seed).integers(0, len(x), size=(resamples, len(x)))
    means = x[idx].mean(axis=1)
    return float(x.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def paired_bootstrap(
    baseline: Sequence[float], other: Sequence[float], *, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """(mean difference other - baseline, low, high) with a 95% paired-bootstrap interval.

    The two sequences hold one value per question, in the same question order;
    questions are resampled together, so question difficulty cancels out.
    """
    if len(baseline) != len(other):
        raise ValueError("paired samples need one value per question on both sides")
    return bootstrap_mean(
        np.asarray(other, dtype=np.float64) - np.asarray(baseline, dtype=np.float64), resamples=resamples, seed=seed
    )
