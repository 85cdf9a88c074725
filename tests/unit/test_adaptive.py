"""Adaptive compute: difficulty estimators, best-of-N fan-out and selection, refinement, partitions, token budget."""

from __future__ import annotations

import math

import pytest

from ragloop.graph.builder import graph
from ragloop.logic.answers import normalize_answer
from ragloop.logic.budget import partition
from ragloop.prompts.generate import NOT_FOUND
from tests.conftest import logprob_reply, reply
from tests.unit.test_graph import grades, scripts

QUESTION = "In what country is Normandy located?"


def run(context, **overrides):
    return graph.invoke({"question": QUESTION}, context=context(**overrides))


def drafts_of(*texts):
    """A generate script answering the given texts in turn (samples run in parallel: order is not sample order)."""
    answers = iter(texts)
    return lambda n: reply(next(answers), tokens_in=300, tokens_out=10)


# --- difficulty estimators -------------------------------------------------------------
@pytest.mark.parametrize(("probability", "level"), [(0.97, "easy"), (0.6, "medium"), (0.2, "hard")])
def test_logprob_confidence_picks_the_level(use_provider, context, probability, level):
    use_provider(scripts(difficulty=lambda n: logprob_reply([("France", math.log(probability))])))
    result = run(context)
    assert result["difficulty"]["level"] == level
    assert result["difficulty"]["estimator"] == "logprob"
    assert result["difficulty"]["confidence"] == pytest.approx(probability, abs=1e-3)


@pytest.mark.parametrize(
    ("stated", "level"),
    [
        ("Answer: France\nConfidence: 95", "easy"),
        ("Answer: France\nConfidence: 55%", "medium"),
        ("Answer: maybe Paris\nConfidence: 0.1", "hard"),
    ],
)
def test_verbal_confidence_picks_the_level(use_provider, context, stated, level):
    use_provider(scripts(difficulty=lambda n: reply(stated)))
    result = run(context, difficulty_estimator="verbal")
    assert (result["difficulty"]["level"], result["difficulty"]["estimator"]) == (level, "verbal")
    # the reranker-score confidence is recorded beside it (no model call), for benchmarks to compare
    assert 0 < result["difficulty"]["retrieval_confidence"] < 1 and {"top_score", "margin"} <= set(result["difficulty"])


@pytest.mark.parametrize(
    ("bias", "probability", "level"),
    [(-5.0, 0.6, "hard"), (5.0, 0.6, "medium"), (-5.0, 0.97, "easy"), (-5.0, 0.2, "hard")],
)
def test_a_medium_question_the_reranker_is_unsure_of_gets_the_hard_row(use_provider, context, bias, probability, level):
    use_provider(scripts(difficulty=lambda n: logprob_reply([("France", math.log(probability))])))
    result = run(
        context,
        hard_retrieval_below=0.5,
        retrieval_bias=bias,
        hard_docs=3,
        hard_samples=1,
        hard_refine_rounds=0,
        medium_docs=2,
    )
    d = result["difficulty"]
    assert d["level"] == level and d["confidence"] == pytest.approx(probability, abs=1e-3)
    assert ("escalated" in d) == (probability == 0.6 and bias < 0)  # only a medium draft is escalated
    if level != "easy":
        assert result["budget"]["docs"] == (3 if level == "hard" else 2)


def test_escalation_is_off_by_default(use_provider, context):
    use_provider(scripts(difficulty=lambda n: logprob_reply([("France", math.log(0.6))])))
    assert run(context, retrieval_bias=-20.0)["difficulty"]["level"] == "medium"


def test_retrieval_estimator_makes_no_model_call(use_provider, context):
    provider = use_provider(scripts())
    result = run(
        context,
        difficulty_estimator="retrieval",
        retrieval_top_weight=0.0,
        retrieval_margin_weight=0.0,
        retrieval_bias=-3.0,
    )  # sigmoid(-3) = 0.047: hard
    assert "difficulty" not in provider.calls
    d = result["difficulty"]
    assert d["estimator"] == "retrieval" and d["level"] == "hard"
    assert d["confidence"] == pytest.approx(1 / (1 + math.exp(3)), abs=1e-3)
    assert {"top_score", "margin"} <= set(d)


def test_retrieval_confidence_rises_with_the_top_score_and_margin(use_provider, context):
    use_provider(scripts())
    low = run(context, difficulty_estimator="retrieval", retrieval_bias=-5.0)["difficulty"]
    high = run(context, difficulty_estimator="retrieval", retrieval_bias=5.0)["difficulty"]
    assert low["confidence"] < high["confidence"] and low["level"] == "hard" and high["level"] == "easy"


def test_a_model_without_logprobs_falls_back_to_retrieval_scores_and_says_so(use_provider, context):
    use_provider(scripts(difficulty=lambda n: reply("France")))
    result = run(context)
    assert result["difficulty"]["estimator"] == "retrieval" and result["difficulty"]["confidence"] is not None
    assert any("logprobs" in w for w in result["warnings"])


def test_fixed_estimator_is_always_medium_without_a_model_call(use_provider, context):
    provider = use_provider(scripts())
    result = run(context, difficulty_estimator="fixed", medium_samples=1)
    assert result["difficulty"]["level"] == "medium" and "difficulty" not in provider.calls


# --- the easy path: the difficulty draft as the answer --------------------------------------
def test_an_easy_question_is_answered_by_its_draft_without_grading_or_generation(use_provider, context):
    provider = use_provider(scripts(difficulty=lambda n: logprob_reply([("France", math.log(0.97))])))
    result = run(context, easy_from_draft=True, difficulty_passages=2)
    assert result["answer"] == "France" and provider.calls == {"difficulty": 1}
    assert result["difficulty"]["draft"] == "France" and result["budget"]["from_draft"]
    assert result["compute"]["stop_reason"] == "easy: answered with the difficulty draft"
    assert result["compute"]["tokens"] == result["usage"]["difficulty"]["input_tokens"] + 10
    # of the two passages the draft read (the reranker's first two), it cites the one that says "France"
    assert [c["id"] for c in result["citations"]] == ["Normans"]
    assert result["citations"][0]["n"] in (1, 2)


def test_a_verbal_draft_answers_without_its_label_and_confidence_line(use_provider, context):
    provider = use_provider(scripts(difficulty=lambda n: reply("Answer: France\nConfidence: 95")))
    result = run(context, easy_from_draft=True, difficulty_estimator="verbal")
    assert result["answer"] == "France" and "grade" not in provider.calls


@pytest.mark.parametrize(
    ("draft", "probability", "cut", "switch"),
    [
        ("France", 0.6, False, True),  # medium: the draft only set the budget
        (NOT_FOUND, 0.97, False, True),  # a confident "not found" is no answer (unless answers may abstain)
        ("France is a country in", 0.97, True, True),  # nor is a draft cut at its token cap
        ("France", 0.97, False, False),
    ],  # the switch off: every question is graded and answered
)
def test_otherwise_the_draft_only_sets_the_budget(use_provider, context, draft, probability, cut, switch):
    def difficulty(n):
        message = logprob_reply([(draft, math.log(probability))])
        if cut:
            message.response_metadata["finish_reason"] = "length"  # stopped at difficulty_max_tokens
        return message

    provider = use_provider(scripts(difficulty=difficulty))
    result = run(context, easy_from_draft=switch, medium_samples=1)
    assert provider.calls["grade"] == 1 and provider.calls["generate"] == 1
    assert result["answer"] == "Normandy is in France [1]." and result["difficulty"]["draft"] == draft
    assert "from_draft" not in result["budget"]


def test_the_level_routes_generation_to_its_model(use_provider, context):
    provider = use_provider(scripts(difficulty=lambda n: logprob_reply([("x", math.log(0.1))])))
    run(context, hard_chat_model="big-model", hard_samples=2, hard_refine_rounds=0)
    models = {r[1]["model"] for r in provider.requests if r[0] == "generate"}
    assert models == {"big-model"}
    assert {r[1]["model"] for r in provider.requests if r[0] in ("difficulty", "grade")} == {""}


# --- best-of-N and selection -----------------------------------------------------------
def test_fan_out_samples_n_answers_and_the_vote_picks_the_majority(use_provider, context):
    provider = use_provider(
        scripts(
            difficulty=lambda n: logprob_reply([("x", math.log(0.6))]),
            generate=drafts_of("Paris [1]", "France [2]", "the France. [1]", "Rouen"),
        )
    )
    result = run(context, medium_samples=4)
    assert provider.calls["generate"] == 4 and result["compute"]["samples"] == 4
    assert normalize_answer(result["answer"]) == "france"
    assert result["usage"]["generate"] == {"input_tokens": 1200, "output_tokens": 40, "calls": 4}


def test_not_found_drafts_do_not_outvote_a_found_answer(use_provider, context):
    use_provider(
        scripts(
            difficulty=lambda n: logprob_reply([("x", math.log(0.6))]),
            generate=drafts_of(NOT_FOUND, NOT_FOUND, "France [1]"),
        )
    )
    assert run(context, medium_samples=3)["answer"] == "France [1]"


def test_confidence_selection_takes_the_most_probable_answer(use_provider, context):
    texts = iter([("Paris [1]", 0.3), ("France [1]", 0.9), ("Paris [1]", 0.4)])

    def generate(n):
        text, p = next(texts)
        return logprob_reply([(text, math.log(p))])

    use_provider(scripts(difficulty=lambda n: logprob_reply([("x", math.log(0.6))]), generate=generate))
    assert run(context, medium_samples=3, selection="confidence")["answer"] == "France [1]"


def test_verifier_selection_overrules_the_majority_and_asks_once_per_distinct_answer(use_provider, context):
    def verdict(n, prompt):  # only France is supported by the passages
        return reply("yes" if "Proposed answer: France" in prompt else "no")

    provider = use_provider(
        scripts(
            difficulty=lambda n: logprob_reply([("x", math.log(0.6))]),
            generate=drafts_of("Paris [1]", "France [1]", "Paris [1]"),
            select=verdict,
        )
    )
    result = run(context, medium_samples=3, selection="verifier")
    assert result["answer"] == "France [1]"  # a vote would have said Paris
    assert provider.calls["select"] == 2


def test_merge_selection_writes_one_answer_from_all(use_provider, context):
    provider = use_provider(
        scripts(
            difficulty=lambda n: logprob_reply([("x", math.log(0.6))]),
            generate=drafts_of("Paris [1]", "France [2]"),
            select=lambda n: reply("Normandy is in France [2]."),
        )
    )
    result = run(context, medium_samples=2, selection="merge")
    assert result["answer"] == "Normandy is in France [2]." and provider.calls["select"] == 1


# --- context-partition ensemble ----------------------------------------------------------
@pytest.mark.parametrize(("count", "parts"), [(12, 2), (12, 5), (5, 3), (3, 3), (7, 1)])
def test_partitions_are_disjoint_cover_every_document_and_each_holds_a_top_one(count, parts):
    slices = partition(count, parts)
    flat = [n for s in slices for n in s]
    assert sorted(flat) == list(range(1, count + 1)) and len(flat) == len(set(flat))
    assert [s[0] for s in slices] == list(range(1, parts + 1))


def test_each_sample_reads_its_partition_and_citations_point_at_the_full_list(use_provider, context):
    seen = []

    def generate(n):
        return reply("France [1]")

    provider = use_provider(
        scripts(difficulty=lambda n: logprob_reply([("x", math.log(0.1))]), generate=generate, grade=grades("yes", 6))
    )
    from ragloop.nodes import generate as generate_module

    original = generate_module.format_passages
    generate_module.format_passages = lambda docs: seen.append([d.metadata["id"] for d in docs]) or original(docs)
    try:
        result = run(context, hard_docs=6, hard_samples=2, hard_partitions=2, hard_refine_rounds=0, k=8)
    finally:
        generate_module.format_passages = original
    assert provider.calls["generate"] == 2 and result["compute"]["partitions"] == 2
    assert len(seen) == 2 and not set(seen[0]) & set(seen[1]) and len(seen[0] + seen[1]) == 6
    # Both samples cited their own [1]: partition 0's first document is [1], partition 1's is [2].
    cited = {c["n"] for c in result["citations"]}
    assert cited <= {1, 2} and len(cited) == 1
    assert result["citations"][0]["id"] in {seen[0][0], seen[1][0]}


@pytest.mark.parametrize("partitions", [1, 2])
def test_only_a_slice_of_an_ensemble_is_told_it_may_answer_not_found(use_provider, context, partitions):
    prompts = []

    def generate(n, prompt):
        prompts.append(prompt)
        return reply("France")

    use_provider(
        scripts(difficulty=lambda n: logprob_reply([("x", math.log(0.1))]), generate=generate, grade=grades("yes", 4))
    )
    result = run(context, hard_docs=4, hard_samples=2, hard_partitions=partitions, hard_refine_rounds=0, k=8)
    assert result["answer"] == "France" and len(prompts) == 2
    assert all((NOT_FOUND in prompt) == (partitions > 1) for prompt in prompts)


# --- refinement ----------------------------------------------------------------------
def test_refinement_stops_when_the_critique_finds_nothing(use_provider, context):
    critiques = iter(["The answer names the wrong country.", "OK"])
    revisions = iter(["France [2]"])

    def refine(n):
        return reply(next(critiques)) if n in (1, 3) else reply(next(revisions))

    provider = use_provider(scripts(difficulty=UNSURE_, generate=drafts_of("Paris [1]"), refine=refine))
    result = run(context, hard_samples=1, hard_refine_rounds=3)
    assert result["answer"] == "France [2]"
    assert provider.calls["refine"] == 3  # critique, revise, critique: OK
    assert result["compute"]["refine_rounds"] == 2 and result["compute"]["stop_reason"] == "converged"


def test_refinement_stops_when_the_revision_stops_changing(use_provider, context):
    provider = use_provider(
        scripts(
            difficulty=UNSURE_,
            generate=drafts_of("Paris [1]"),
            refine=lambda n: reply("Check the country.") if n % 2 else reply("Paris [1]."),
        )
    )
    result = run(context, hard_samples=1, hard_refine_rounds=3)
    assert provider.calls["refine"] == 2 and result["compute"]["stop_reason"] == "converged"


def test_refinement_stops_at_the_cap(use_provider, context):
    revisions = iter(f"answer {n} [1]" for n in range(10))
    provider = use_provider(
        scripts(
            difficulty=UNSURE_,
            generate=drafts_of("Paris [1]"),
            refine=lambda n: reply("Wrong.") if n % 2 else reply(next(revisions)),
        )
    )
    result = run(context, hard_samples=1, hard_refine_rounds=2)
    assert provider.calls["refine"] == 4
    assert result["answer"] == "answer 1 [1]"
    assert result["compute"]["refine_rounds"] == 2 and result["compute"]["stop_reason"] == "refinement cap"


# --- the token budget --------------------------------------------------------------------
UNSURE_ = lambda n: logprob_reply([("maybe", math.log(0.2))])  # hard


def test_the_budget_cuts_samples_exactly_where_the_next_one_would_not_fit(use_provider, context, monkeypatch):
    from ragloop.logic.usage import tokens_spent
    from ragloop.nodes import plan as plan_module

    monkeypatch.setattr(
        plan_module, "sample_cost", lambda docs, question, ctx, sliced=False: 1000
    )  # each sample's worst case
    use_provider(scripts(difficulty=UNSURE_))
    unlimited = run(context, hard_samples=6, hard_partitions=1, hard_refine_rounds=0)
    before_generate = tokens_spent({k: v for k, v in unlimited["usage"].items() if k != "generate"})
    for room, expected in ((3999, 3), (4000, 4), (999, 1)):
        provider = use_provider(scripts(difficulty=UNSURE_, generate=drafts_of(*["France [1]"] * 8)))
        result = run(
            context,
            hard_samples=6,
            hard_partitions=1,
            hard_refine_rounds=0,
            max_tokens_per_query=before_generate + room,
        )
        assert provider.calls["generate"] == result["compute"]["samples"] == expected
        assert result["answer"] == "France [1]"
        assert any(f"{expected} of 6 samples" in d for d in result["compute"]["degraded"])


def test_a_tiny_budget_still_answers_and_overshoots_by_at_most_one_answer(use_provider, context):
    provider = use_provider(scripts(difficulty=UNSURE_, generate=drafts_of("France [1]"), refine=lambda n: reply("OK")))
    # The draft is cut, so difficulty comes from retrieval; the bias makes that hard (6 samples, 3 rounds).
    result = run(context, max_tokens_per_query=50, hard_refine_rounds=3, retrieval_bias=-10.0)
    assert result["difficulty"]["level"] == "hard"
    assert result["answer"] == "France [1]"
    assert provider.calls == {"generate": 1}  # draft, grading, extra samples and refinement were all cut
    degraded = " ".join(result["compute"]["degraded"])
    assert "difficulty" in degraded and "grade" in degraded and "refine" in degraded
    assert result["compute"]["tokens"] <= 50 + 300 + 10  # the one answer's prompt and output
    assert result["compute"]["stop_reason"] == "token budget"


def test_refinement_rounds_stop_when_the_budget_runs_out(use_provider, context):
    provider = use_provider(
        scripts(
            difficulty=UNSURE_,
            generate=drafts_of("Paris [1]"),
            refine=lambda n: reply("Wrong.", tokens_in=400) if n % 2 else reply(f"v{n} [1]", tokens_in=400),
        )
    )
    free = run(context, hard_samples=1, hard_refine_rounds=3)
    assert provider.calls["refine"] == 6
    run_usage = (
        free["compute"]["tokens"] - free["usage"]["refine"]["input_tokens"] - free["usage"]["refine"]["output_tokens"]
    )
    provider = use_provider(
        scripts(
            difficulty=UNSURE_,
            generate=drafts_of("Paris [1]"),
            refine=lambda n: reply("Wrong.", tokens_in=400) if n % 2 else reply(f"v{n} [1]", tokens_in=400),
        )
    )
    result = run(context, hard_samples=1, hard_refine_rounds=3, max_tokens_per_query=run_usage + 2200)
    assert 0 < provider.calls["refine"] < 6
    assert result["compute"]["stop_reason"] == "token budget"
    assert result["compute"]["tokens"] <= run_usage + 2200
