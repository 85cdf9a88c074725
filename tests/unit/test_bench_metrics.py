"""Benchmark metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from ragloop.benchmarks.metrics import (
    bootstrap_mean,
    exact_match,
    mrr_at,
    ndcg_at,
    paired_bootstrap,
    percentile,
    precision_at,
    recall_at,
    token_f1,
)
from ragloop.benchmarks.plots import pareto_front


def test_ndcg_single_relevant_at_rank_two():
    assert ndcg_at(["a", "b", "c"], {"b"}, 10) == pytest.approx(1 / math.log2(3))


def test_ndcg_graded_gains_against_the_ideal_order():
    # DCG = 1/log2(2) + 3/log2(3); ideal order (3, 1): 3/log2(2) + 1/log2(3)
    dcg, ideal = 1 + 3 / math.log2(3), 3 + 1 / math.log2(3)
    assert ndcg_at(["x", "y"], {"x": 1, "y": 3}) == pytest.approx(dcg / ideal)


def test_ndcg_cut_at_k_and_zero_without_relevant():
    assert ndcg_at(["a", "b", "c"], {"c"}, k=2) == 0.0
    assert ndcg_at(["a"], set()) == 0.0


def test_ndcg_with_ties_does_not_depend_on_how_the_tie_was_broken():
    # a and b tie: each position gets the group's mean gain 0.5 -> 0.5 + 0.5 / log2(3)
    expected = 0.5 + 0.5 / math.log2(3)
    assert ndcg_at(["a", "b"], {"b"}, scores=[1.0, 1.0]) == pytest.approx(expected)
    assert ndcg_at(["b", "a"], {"b"}, scores=[1.0, 1.0]) == pytest.approx(expected)
    # without the scores, order decides
    assert ndcg_at(["b", "a"], {"b"}) == 1.0
    # a tie below the relevant document changes nothing
    assert ndcg_at(["b", "a", "c"], {"b"}, scores=[2.0, 1.0, 1.0]) == 1.0


def test_recall_with_several_relevant_documents():
    ranked = ["a", "x", "b", "y"]
    relevant = {"a", "b", "c"}
    assert recall_at(ranked, relevant, 1) == pytest.approx(1 / 3)
    assert recall_at(ranked, relevant, 2) == pytest.approx(1 / 3)
    assert recall_at(ranked, relevant, 3) == pytest.approx(2 / 3)
    assert recall_at(ranked, relevant, 45) == pytest.approx(2 / 3)


def test_precision_divides_by_k_and_mrr_takes_the_first_hit():
    assert precision_at(["a", "b"], {"a", "b"}, 5) == pytest.approx(0.4)
    assert mrr_at(["x", "y", "a", "b"], {"a", "b"}) == pytest.approx(1 / 3)
    assert mrr_at(["x", "a"], {"a"}, k=1) == 0.0


def test_exact_match_and_f1_use_squad_normalisation():
    assert exact_match("The Eiffel Tower!", ["eiffel tower"]) == 1.0
    assert exact_match("Paris [1].", ["Paris"]) == 1.0  # citations are not part of the answer
    assert exact_match("Paris, France", ["Paris"]) == 0.0
    # pred {paris, france} vs gold {paris}: P 1/2, R 1 -> F1 2/3
    assert token_f1("Paris, France", ["Paris"]) == pytest.approx(2 / 3)
    # the best of several gold answers counts
    assert token_f1("in Paris, France", ["London", "Paris France"]) == pytest.approx(0.8)
    assert token_f1("", ["Paris"]) == 0.0


def test_paired_bootstrap_of_a_constant_difference_is_exact():
    diff, low, high = paired_bootstrap([0, 0, 1, 1], [1, 1, 2, 2])
    assert (diff, low, high) == (1.0, 1.0, 1.0)


def test_paired_bootstrap_interval_matches_the_normal_approximation():
    baseline = [0.0] * 400
    other = [1.0, 0.0] * 200  # difference 0.5 with standard error 0.025
    diff, low, high = paired_bootstrap(baseline, other, seed=1)
    assert diff == 0.5
    assert low == pytest.approx(0.5 - 1.96 * 0.025, abs=0.01)
    assert high == pytest.approx(0.5 + 1.96 * 0.025, abs=0.01)
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 2.0])


def test_bootstrap_mean_and_percentile():
    assert bootstrap_mean([]) == (0.0, 0.0, 0.0)
    assert bootstrap_mean([2.0, 2.0]) == (2.0, 2.0, 2.0)
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([], 95) == 0.0


def test_pareto_front_keeps_cheaper_or_better_points():
    points = [(100, 0.5), (200, 0.4), (300, 0.7), (50, 0.2), (300, 0.6)]
    assert pareto_front(points) == [3, 0, 2]


def test_auroc_by_hand():
    from ragloop.benchmarks.metrics import auroc

    assert auroc([0.9, 0.8, 0.3, 0.1], [True, True, False, False]) == 1.0
    assert auroc([0.1, 0.9], [True, False]) == 0.0
    # pairs (pos, neg): (0.5, 0.5) tie -> 0.5, (0.5, 0.2) win -> 1, (0.9, 0.5) win, (0.9, 0.2) win -> 3.5 / 4
    assert auroc([0.5, 0.9, 0.5, 0.2], [True, True, False, False]) == 0.875
    assert auroc([0.5], [True]) is None


def test_logistic_fit_recovers_the_weights_that_made_the_labels():
    import numpy as np

    from ragloop.benchmarks.metrics import logistic_fit

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(4000, 2))
    labels = rng.uniform(size=4000) < 1 / (1 + np.exp(-(-1.0 * x[:, 0] + 3.0 * x[:, 1] - 1.0)))
    (top, margin), bias = logistic_fit(x, labels, l2=0.0)
    assert top == pytest.approx(-1.0, abs=0.3) and margin == pytest.approx(3.0, abs=0.3)
    assert bias == pytest.approx(-1.0, abs=0.3)
    # separable data: the penalty keeps the weights finite
    (w,), _ = logistic_fit([[0.1], [0.2], [0.8], [0.9]], [False, False, True, True])
    assert 0 < w < 100
    assert logistic_fit([[0.1], [0.9]], [True, True]) is None
