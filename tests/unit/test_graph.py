"""The graph's routing, caps and budgets, driven by LangChain's fake chat models."""

from __future__ import annotations

import math

import pytest

from ragloop.errors import IndexLoadError, InputError
from ragloop.graph.builder import RECURSION_LIMIT, graph
from ragloop.prompts.generate import NOT_FOUND
from tests.conftest import FACTS, logprob_reply, reply

CONFIDENT = lambda n: logprob_reply([("France", math.log(0.97))])
UNSURE = lambda n: logprob_reply([("maybe", math.log(0.2)), (" Paris", math.log(0.3))])


def grades(verdict: str, n: int = 5):
    return lambda call: reply("\n".join(f"{i}: {verdict}" for i in range(1, n + 1)), tokens_in=500, tokens_out=20)


def scripts(**overrides):
    base = {
        "difficulty": CONFIDENT,
        "grade": grades("yes"),
        "rewrite": lambda n: reply(f"rewritten query {n}"),
        "generate": lambda n: reply("Normandy is in France [1]."),
        "refine": lambda n: reply("OK"),
    }
    return {**base, **overrides}


def run(context, **ctx_overrides):
    return graph.invoke({"question": "In what country is Normandy located?"}, context=context(**ctx_overrides))


def test_easy_question_answers_with_citations_to_kept_documents(use_provider, context):
    provider = use_provider(scripts())
    result = run(context)
    assert result["answer"] == "Normandy is in France [1]."
    assert result["difficulty"]["level"] == "easy"
    assert result["budget"] == {"docs": 5, "samples": 1, "partitions": 1, "refine_rounds": 0, "model": ""}
    assert provider.calls == {"difficulty": 1, "grade": 1, "generate": 1}
    assert result["compute"]["stop_reason"] == "answered" and result["compute"]["samples"] == 1
    assert [c["n"] for c in result["citations"]] == [1]
    assert result["citations"][0]["id"] in {title for title, _ in FACTS}
    assert result["rewrites"] == 0
    assert set(result) >= {"answer", "citations", "difficulty", "budget", "usage", "timings", "cost_usd"}


def test_usage_is_counted_per_node(use_provider, context):
    use_provider(scripts())
    usage = run(context)["usage"]
    assert usage["grade"] == {"input_tokens": 500, "output_tokens": 20, "calls": 1}
    assert usage["generate"]["calls"] == 1 and usage["difficulty"]["calls"] == 1


def test_a_grader_that_always_says_no_stops_after_max_rewrites(use_provider, context):
    provider = use_provider(scripts(grade=grades("no")))
    result = run(context, max_rewrites=2, answer_when_nothing_relevant=False)
    assert result["rewrites"] == 2
    assert provider.calls["rewrite"] == 2
    assert provider.calls["grade"] == 3  # the first search and one per rewrite
    assert result["answer"] == NOT_FOUND and result["citations"] == []
    assert "generate" not in provider.calls


def test_after_a_rewrite_only_documents_not_yet_judged_are_graded(use_provider, context):
    asked = []

    def grader(n, prompt):
        asked.append({title for title, text in FACTS if text in prompt})
        return reply("\n".join(f"{i}: no" for i in range(1, 6)))

    provider = use_provider(
        scripts(grade=grader, rewrite=lambda n: reply(["Oxygen atomic number", "Tesla inventor"][n - 1]))
    )
    result = run(context, max_rewrites=2, top_n=3, answer_when_nothing_relevant=False)
    assert result["rewrites"] == 2
    assert len(asked) == provider.calls["grade"] >= 2 and all(asked)
    for i, first in enumerate(asked):  # no document is judged twice against the same question
        assert all(not first & later for later in asked[i + 1 :])
    assert sum(map(len, asked)) <= 3 * 3


def test_when_nothing_is_relevant_it_answers_from_the_top_reranked_and_says_so(use_provider, context):
    provider = use_provider(scripts(grade=grades("no")))
    result = run(context, max_rewrites=1)
    assert provider.calls["generate"] == 1 and result["answer"] == "Normandy is in France [1]."
    assert any("No document was graded relevant" in w for w in result["warnings"])
    assert len(result["citations"]) == 1


@pytest.mark.parametrize("max_rewrites", [0, 1, 4])
def test_rewrite_cap_follows_context(use_provider, context, max_rewrites):
    provider = use_provider(scripts(grade=grades("no")))
    result = run(context, max_rewrites=max_rewrites)
    assert result["rewrites"] == max_rewrites == provider.calls.get("rewrite", 0)


def test_rewritten_query_is_used_for_the_next_search(use_provider, context):
    seen = []
    provider = use_provider(
        scripts(grade=lambda n: reply("1: no\n2: no\n3: no\n4: no\n5: no") if n == 1 else reply("1: yes"))
    )
    from ragloop.nodes import retrieve as retrieve_module

    original = retrieve_module.hybrid_search
    retrieve_module.hybrid_search = lambda ctx, query, **kw: seen.append(query) or original(ctx, query, **kw)
    try:
        result = run(context)
    finally:
        retrieve_module.hybrid_search = original
    assert seen == ["In what country is Normandy located?", "rewritten query 1"]
    assert result["rewrites"] == 1 and provider.calls["rewrite"] == 1


def test_too_few_relevant_after_the_cap_answers_from_what_it_has_and_says_so(use_provider, context):
    use_provider(scripts(grade=lambda n: reply("1: yes\n2: no\n3: no\n4: no\n5: no")))
    result = run(context, min_relevant=3, max_rewrites=1)
    assert result["rewrites"] == 1
    assert result["answer"] == "Normandy is in France [1]."
    assert any("relevant document" in w for w in result["warnings"])


def test_hard_question_gets_the_hard_budget_and_it_is_honoured(use_provider, context):
    answers = iter(["Paris [1]", "France [2]", "France [1]", "Rouen", "France", "Paris"])
    provider = use_provider(scripts(difficulty=UNSURE, generate=lambda n: reply(next(answers))))
    result = run(context, hard_docs=6, hard_samples=6, hard_partitions=1, hard_refine_rounds=2, k=8)
    assert result["difficulty"]["level"] == "hard"
    assert result["budget"] == {"docs": 6, "samples": 6, "partitions": 1, "refine_rounds": 2, "model": ""}
    assert provider.calls["generate"] == 6 and result["compute"]["samples"] == 6
    sampled = [r for r in provider.requests if r[0] == "generate"]
    assert {r[1]["temperature"] for r in sampled} == {0.7}
    assert sorted(r[1]["seed"] for r in sampled) == list(range(6))  # one seed per sample, or they would agree


def test_budget_caps_apply(use_provider, context):
    provider = use_provider(scripts(difficulty=UNSURE))
    result = run(
        context,
        hard_docs=50,
        hard_samples=50,
        hard_partitions=9,
        hard_refine_rounds=9,
        max_docs=3,
        max_samples=2,
        max_refine_rounds=1,
    )
    assert result["budget"] == {"docs": 3, "samples": 2, "partitions": 2, "refine_rounds": 1, "model": ""}
    assert provider.calls["generate"] == 2


def test_grader_reads_p_yes_from_logprobs(use_provider, context):
    tokens = [
        ("1", 0.0),
        (":", 0.0),
        (" yes", math.log(0.55)),
        ("\n", 0.0),
        ("2", 0.0),
        (":", 0.0),
        (" yes", math.log(0.9)),
    ]
    alternatives = {
        2: [(" yes", math.log(0.55)), (" no", math.log(0.45))],
        6: [(" yes", math.log(0.9)), (" no", math.log(0.1))],
    }
    use_provider(scripts(grade=lambda n: logprob_reply(tokens, alternatives)))
    result = run(context, grade_threshold=0.6, top_n=2)
    # Passage 1's p(yes)=0.55 is under the threshold; passage 2's 0.9 is over: only [2]'s doc is kept.
    assert len(result["citations"]) == 1


def test_every_run_starts_afresh_on_a_checkpointed_thread(use_provider, context):
    from langgraph.checkpoint.memory import InMemorySaver

    from ragloop.graph.builder import compile_graph

    use_provider(scripts(condense=lambda n: reply("Where is Normandy?")))
    g = compile_graph(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    ctx = context()
    first = g.invoke({"question": "Where is Normandy?"}, config, context=ctx)
    second = g.invoke({"question": "Where is Normandy?"}, config, context=ctx)
    assert second["usage"] == {**first["usage"], "condense": second["usage"]["condense"]}
    assert second["usage"]["grade"]["calls"] == 1 and second["compute"]["samples"] == 1


@pytest.mark.parametrize("question", ["", "   \n", "x" * 2001])
def test_bad_questions_are_refused_clearly(use_provider, context, question):
    use_provider(scripts())
    with pytest.raises(InputError, match="question"):
        graph.invoke({"question": question}, context=context())


def test_runs_without_context_use_defaults(use_provider, monkeypatch, tmp_path):
    use_provider(scripts())
    monkeypatch.setenv("RAGLOOP_INDEX", str(tmp_path / "nowhere"))
    with pytest.raises(IndexLoadError, match="No ragloop index"):
        graph.invoke({"question": "Where is Normandy?"})


def test_recursion_limit_is_explicit():
    assert graph.config["recursion_limit"] == RECURSION_LIMIT < 100


def test_the_longest_run_fits_the_recursion_limit(use_provider, context):
    from ragloop.settings import MAX_REFINE_CEILING, MAX_REWRITES_CEILING

    drafts = iter(f"answer {n} [1]" for n in range(1000))
    use_provider(
        scripts(
            difficulty=UNSURE,
            grade=lambda n: reply("1: yes") if n > MAX_REWRITES_CEILING else grades("no")(n),
            refine=lambda n: reply("It is wrong.") if n % 2 else reply(next(drafts)),
        )
    )
    result = run(
        context,
        max_rewrites=MAX_REWRITES_CEILING,
        hard_refine_rounds=MAX_REFINE_CEILING,
        max_refine_rounds=MAX_REFINE_CEILING,
        min_relevant=1,
    )
    assert result["rewrites"] == MAX_REWRITES_CEILING
    assert result["compute"]["refine_rounds"] == MAX_REFINE_CEILING
    assert result["compute"]["stop_reason"] == "refinement cap"


def test_a_filter_with_langchain_operators_narrows_the_search_and_a_bad_one_is_a_sentence(use_provider, context):
    from ragloop.errors import InputError

    use_provider(scripts())
    question = "In what country is Normandy located?"
    out = graph.invoke({"question": question, "filter": {"title": {"$in": ["Normans", "Warsaw"]}}}, context=context())
    assert out["citations"] and {c["id"] for c in out["citations"]} <= {"Normans", "Warsaw"}
    with pytest.raises(InputError, match=r"Unknown filter operator '\$like'"):
        graph.invoke({"question": question, "filter": {"title": {"$like": "Norm%"}}}, context=context())


def test_the_served_schemas_describe_the_input_and_type_the_outputs_records():
    """What Studio and other forms show: each input field described, citations and compute typed."""
    inputs = graph.get_input_jsonschema()["properties"]
    assert all(inputs[name].get("description") for name in ("question", "messages", "filter"))
    output = graph.get_output_jsonschema()
    citation = output["$defs"]["Citation"]["properties"]
    assert {"n", "id", "source", "title", "page", "section", "rerank_score"} <= set(citation)
    assert {"tokens", "stop_reason", "degraded", "cache"} <= set(output["$defs"]["Compute"]["properties"])
    # (the messages reducer survives its description: test_messages.py appends one answer to a conversation)
