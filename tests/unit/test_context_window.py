"""A question or passages that cannot fit the local model's context window are refused or trimmed with a
clear message before any call, never the provider's 400 as a traceback."""

from __future__ import annotations

import re

import pytest

from ragloop.errors import InputError
from ragloop.graph.builder import graph
from tests.conftest import reply
from tests.unit.test_graph import grades, scripts


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


def test_every_call_of_a_maximal_run_fits_the_window(use_provider, context):
    """Grading, the difficulty draft, sampling, the verifier and refinement all hold the passages they are given
    within the window: grading in as many calls as it takes, the others with the ranking's tail cut."""
    prompts: list[tuple[str, str]] = []

    def recorded(role, script):
        def reply_to(n, prompt):
            prompts.append((role, prompt))
            return script(n)

        return reply_to

    roles = scripts(grade=grades("yes", 8), select=lambda n: reply("yes"), refine=lambda n: reply("Too vague."))
    provider = use_provider({role: recorded(role, script) for role, script in roles.items()})
    window = 512
    out = graph.invoke(
        {"question": "In what country is Normandy located?"},
        context=context(
            local_n_ctx=window,
            difficulty_estimator="fixed",
            selection="verifier",
            k=8,
            top_n=8,
            max_docs=8,
            medium_docs=8,
            medium_samples=3,
            medium_refine_rounds=1,
            grade_threshold=0.0,
            generate_max_tokens=64,
            grade_max_tokens=24,
            refine_max_tokens=64,
            answer_cache_ttl_seconds=0,
        ),
    )
    assert out["answer"] and provider.calls["grade"] > 1  # eight passages did not fit one grading call
    assert provider.calls["select"] >= 1 and provider.calls["refine"] >= 1
    caps: dict[str, int] = {}
    for role, settings in provider.requests:
        caps[role] = max(caps.get(role, 0), settings["max_tokens"])
    for role, prompt in prompts:
        assert len(prompt.encode()) / 3 + caps[role] <= window, (role, len(prompt))
    assert any("fit the model's context window" in cut for cut in out["compute"]["degraded"])
