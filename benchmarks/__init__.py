"""Benchmarks: retrieval quality, answer quality and spend, with A/B comparison and plots.

The command line is ``ragloop bench retrieval|answers DATA``; the same from Python::

    from ragloop.benchmarks import load_dataset, make_variants, run_answers, run_retrieval

    variants = make_variants([("top5", {"top_n": 5}), ("top10", {"top_n": 10})], base={})
    report = run_answers("reddit_v1.0.json.gz", variants, questions=50, seed=0)
"""

from ragloop.benchmarks.answers import run_answers
from ragloop.benchmarks.datasets import load_dataset
from ragloop.benchmarks.harness import make_variants
from ragloop.benchmarks.retrieval import run_retrieval

__all__ = ["load_dataset", "make_variants", "run_answers", "run_retrieval"]
