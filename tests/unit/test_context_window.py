"""A question or passages that cannot fit the local model's context window are refused or trimmed with a
clear message before any call, never the provider's 400 as a traceback."""

from __future__ import annotations

import re

import pytest

from ragloop.errors import InputError
from ragloop.graph.builder import graph
from tests.unit.test_graph import scripts


def test_a_question_too_long_for_the_window_is_refused_before_any_call(use_provider, context):
    provider = use_provider(scripts())
    question = "Where is Normandy? " * 300  # 5 700 characters: within max_question_chars, past a 4 096 window
    with pytest.raises(InputError, match="too long for the local model's context window of 4096 tokens"):
        graph.invoke({"question": question}, context=context(local_n_ctx=4096, max_question_chars=10_000))
    assert provider.calls == {}


def test_passages_that_do_not_fit_are_trimmed_and_the_cut_is_reported(use_provider, context):
    provider = use_provider(scripts())
    out = graph.invoke(
        {"question": "In what country is Normandy located?"},
        context=context(
            local_n_ctx=512,
            medium_docs=8,
            hard_docs=8,
            k=8,
            grade_threshold=0.0,
            generate_max_tokens=380,
            answer_cache_ttl_seconds=0,
        ),
    )
    assert out["answer"] and provider.calls["generate"] == 1
    cuts = " ".join(out["compute"]["degraded"])
    kept, given = map(int, re.search(r"(\d+) of (\d+) documents fit the model's context window", cuts).groups())
    assert kept < given, cuts
    for role, settings in provider.requests:
        assert settings["max_tokens"] < 512, role
