"""The load test (benchmarks/load.py) in small: 20 concurrent runs on `langgraph dev` with the real local stack;
every run finishes once, with its answer readable from its thread."""

from __future__ import annotations

import pytest

from ragloop.benchmarks.load import run_load

pytestmark = pytest.mark.integration


def test_twenty_concurrent_runs_are_all_answered_none_lost_or_duplicated(tmp_path):
    report = run_load(concurrency=20, seconds=3, grace=600, settings={"max_rewrites": 0}, workdir=tmp_path)
    assert report["submitted"] >= 20
    assert report["outcomes"] == {"answered": report["submitted"]}, report["outcomes"]
    assert report["threads_on_server"] == report["submitted"]
    assert report["latency_s"]["p50"] > 0 and report["throughput_runs_per_s"] > 0
