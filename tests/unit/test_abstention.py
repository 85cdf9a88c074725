"""'Not found in the documents': every path can end unanswerable when the passages do not hold the answer."""

from __future__ import annotations

import math

import pytest

from ragloop.logic.answers import NOT_FOUND, UNANSWERABLE
from tests.conftest import logprob_reply, reply
from tests.unit.test_graph import UNSURE, run, scripts

#: The answer prompts offer "not found" whatever the reranker's score (the fake reranker's scale is its own).
ABSTAIN = {"abstain_prompt_below": 100.0, "answer_cache_ttl_seconds": 0}


def not_found(n: int = 0):
    return reply(NOT_FOUND)


def assert_unanswered(result: dict) -> None:
    assert result["answer"] == NOT_FOUND and result["compute"]["stop_reason"] == UNANSWERABLE
    assert result["citations"] == []
    message = result["messages"][-1]
    assert message.text == NOT_FOUND and message.response_metadata["stop_reason"] == UNANSWERABLE


def test_the_easy_path_abstains_when_its_confident_draft_finds_nothing(use_provider, context):
    provider = use_provider(scripts(difficulty=lambda n: logprob_reply([(NOT_FOUND, math.log(0.97))])))
    result = run(context, easy_from_draft=True, **ABSTAIN)
    assert_unanswered(result)
    assert provider.calls == {"difficulty": 1}  # nothing graded, nothing sampled


def test_one_sample_that_finds_nothing_ends_unanswerable(use_provider, context):
    provider = use_provider(scripts(generate=not_found))
    result = run(context, medium_samples=1, **ABSTAIN)
    assert_unanswered(result)
    assert provider.calls["generate"] == 1


def test_best_of_n_abstains_when_no_sample_finds_the_answer(use_provider, context):
    provider = use_provider(scripts(difficulty=UNSURE, generate=not_found))
    result = run(context, hard_samples=3, hard_refine_rounds=0, selection="vote", **ABSTAIN)
    assert_unanswered(result)
    assert provider.calls["generate"] == 3


def test_a_refinement_that_finds_the_answer_unsupported_abstains(use_provider, context):
    critique = ["The passages do not say this.", NOT_FOUND]
    provider = use_provider(scripts(difficulty=UNSURE, refine=lambda n: reply(critique[min(n, 2) - 1])))
    result = run(context, hard_samples=1, hard_refine_rounds=1, **ABSTAIN)
    assert_unanswered(result)
    assert provider.calls["refine"] == 2


def test_weak_evidence_abstains_before_any_model_call(use_provider, context):
    provider = use_provider(scripts())
    result = run(context, abstain_below=100.0, answer_cache_ttl_seconds=0)
    assert_unanswered(result)
    assert provider.calls == {} and "abstain_below" in result["warnings"][0]
    assert result["difficulty"]["top_score"] < 100


def test_nothing_graded_relevant_is_unanswerable(use_provider, context):
    provider = use_provider(scripts(grade=lambda n: reply("\n".join(f"{i}: no" for i in range(1, 6)))))
    result = run(context, answer_when_nothing_relevant=False, max_rewrites=0, answer_cache_ttl_seconds=0)
    assert_unanswered(result)
    assert "generate" not in provider.calls


@pytest.mark.parametrize("below", [-100.0, 100.0])
def test_the_answer_prompts_offer_not_found_only_when_the_reranker_is_unsure(use_provider, context, below):
    asked = []
    use_provider(scripts(generate=lambda n, prompt: asked.append(prompt) or reply("France")))
    result = run(context, medium_samples=1, answer_cache_ttl_seconds=0, abstain_prompt_below=below)
    assert result["difficulty"]["top_score"] < 100
    assert (NOT_FOUND in asked[0]) == (below == 100.0)


def test_unset_thresholds_are_the_measured_ones_only_for_the_shipped_cross_encoder():
    from ragloop.logic.abstention import threshold
    from ragloop.settings import Context

    assert threshold(Context(), "abstain_below") == 0.4 and threshold(Context(), "abstain_prompt_below") == 0.9
    for other in ({"rerank_provider": "nvidia"}, {"local_reranker": "hybrid-score"}, {"local_reranker_path": "/x"}):
        assert threshold(Context(**other), "abstain_below") == -100.0  # another scale: off until tuned
    assert threshold(Context(rerank_provider="nvidia", abstain_below=-2.5), "abstain_below") == -2.5
