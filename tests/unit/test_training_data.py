"""The reranker recipe's training groups (training/reranker.py), without PyTorch: easy and hard negatives."""

from __future__ import annotations

from ragloop.training.reranker import curriculum, mix_negatives


def groups(n: int) -> list:
    return [(f"q{i}", f"positive {i}", [f"hard {i}.{j}" for j in range(5)]) for i in range(n)]


def test_easy_negatives_are_other_questions_positives():
    mixed = mix_negatives(groups(10), negatives=4, easy=2, seed=0)
    for i, (_, positive, negatives) in enumerate(mixed):
        assert negatives[:2] == [f"hard {i}.0", f"hard {i}.1"]
        assert len(negatives) == 4 and all(n.startswith("positive ") and n != positive for n in negatives[2:])


def test_the_curriculum_gives_easy_negatives_to_the_first_share_only():
    arranged = curriculum(groups(10), negatives=4, easy=2, easy_share=0.3, seed=0)
    easy_counts = [sum(n.startswith("positive ") for n in negatives) for _, _, negatives in arranged]
    assert easy_counts == [2, 2, 2] + [0] * 7
    assert all(len(negatives) == 4 for _, _, negatives in arranged)
    assert curriculum(groups(4), 4, 2, 1.0, 0) == mix_negatives(groups(4), 4, 2, 0)  # the default: all mixed
