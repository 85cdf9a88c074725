"""The graph trusts nothing a client can write. LangGraph lets any client write any state key (a run's
command, a thread state update with as_node); each attack here writes state the way a client could, then
checks that whose documents were read, which cache entry was written and what was spent came from the run.
The server refuses these writes for keys that are not an operator's (test_serving.py, test_shared_server.py);
these tests show the graph holds even if one got through."""

from __future__ import annotations

import uuid

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import InvalidUpdateError
from langgraph.types import Command

from ragloop.graph.builder import compile_graph
from ragloop.graph.indexing import index_graph
from ragloop.persistence.backends import open_cache
from tests.conftest import reply
from tests.unit.test_graph import scripts

ALICE, BOB = "key-alice", "key-bob"
SECRET = {"source": "vault.txt", "text": "The vault code of Alice is 7731 in Normandy."}
QUESTION = "What is the vault code in Normandy?"


def as_key(identity: str, thread: str | None = None) -> dict:
    """The config a LangGraph server gives a run of this key: its identity and a run id of its own."""
    configurable = {"langgraph_auth_user_id": identity, "run_id": str(uuid.uuid4())}
    return {"configurable": {**configurable, **({"thread_id": thread} if thread else {})}}


@pytest.fixture
def threaded():
    """The graph with a checkpointer (threads) and an answer cache, as a server runs it."""
    return compile_graph(checkpointer=InMemorySaver(), cache=open_cache("memory"))


def cited(out: dict) -> set[str]:
    return {c["source"] for c in out.get("citations") or []}


def test_a_forged_tenant_does_not_widen_a_keys_search(use_provider, context, threaded):
    use_provider(
        scripts(
            generate=lambda n, prompt: reply("7731 [1]." if "7731" in prompt else "Not found."),
            condense=lambda n: reply(QUESTION),
        )
    )
    ctx = context(tenancy="per-key", answer_cache_ttl_seconds=0)
    index_graph.invoke({"documents": [SECRET]}, context=ctx, config=as_key(ALICE))
    thread = str(uuid.uuid4())
    threaded.invoke({"question": QUESTION}, context=ctx, config=as_key(BOB, thread))
    # Bob writes his own thread's state as `intake` would, naming Alice or nobody as the tenant in the filter
    forgeries = ({"tenant": ""}, {"tenant": ALICE}, {"filter": {"tenant": ALICE}}, {"filter": {"tenant": None}})
    for forged in forgeries:
        threaded.update_state({"configurable": {"thread_id": thread}}, forged, as_node="intake")
        out = threaded.invoke(None, context=ctx, config=as_key(BOB, thread))
        assert "vault.txt" not in cited(out) and "7731" not in out["answer"], forged
    # ... or sends a stateless run straight to the search with the forged update
    command = Command(goto="retrieve", update={"question": QUESTION, "query": QUESTION, "tenant": ""})
    for target in (thread, str(uuid.uuid4())):  # on his thread, or a new one as a stateless run does
        try:
            out = threaded.invoke(command, context=ctx, config=as_key(BOB, target))
        except InvalidUpdateError:  # LangGraph runs intake's branch beside the goto on a new thread: refused
            out = {}
        assert "vault.txt" not in cited(out) and "7731" not in out.get("answer", ""), target
    alice = threaded.invoke({"question": QUESTION}, context=ctx, config=as_key(ALICE, str(uuid.uuid4())))
    assert "vault.txt" in cited(alice)  # her own documents are hers


@pytest.mark.parametrize("tenancy", ["shared", "per-key"])
def test_an_answer_written_into_state_never_reaches_the_answer_cache(use_provider, context, threaded, tenancy):
    use_provider(scripts(condense=lambda n: reply("In what country is Normandy located?")))
    ctx = context(tenancy=tenancy)
    question = {"question": "In what country is Normandy located?"}
    thread = str(uuid.uuid4())
    threaded.invoke(question, context=ctx, config=as_key(BOB, thread))
    config = {"configurable": {"thread_id": thread}}
    threaded.update_state(config, {"answer": "PLANTED by Bob", "citations": []}, as_node="select")
    planted = threaded.invoke(None, context=ctx, config=as_key(BOB, thread))
    assert planted["answer"].startswith("PLANTED")  # Bob's own run says what he wrote: his business...
    for key in (ALICE, BOB):  # ...but no later run, his own or another key's, is served it from the cache
        out = threaded.invoke(question, context=ctx, config=as_key(key, str(uuid.uuid4())))
        assert "PLANTED" not in out["answer"], key
    stateless = compile_graph(cache=open_cache("memory"))
    for goto in ("finish", "remember"):  # a stateless run whose command jumps past the answering nodes
        try:
            forged = Command(goto=goto, update={**question, "answer": "PLANTED", "plan": {}})
            stateless.invoke(forged, context=ctx, config=as_key(BOB))
        except InvalidUpdateError:  # LangGraph also runs intake's branch, which writes the answer too: refused
            pass
        assert "PLANTED" not in stateless.invoke(question, context=ctx, config=as_key(ALICE))["answer"]


def test_a_forged_budget_is_held_to_the_context_and_the_deployments_models(use_provider, context, threaded):
    provider = use_provider(
        scripts(refine=lambda n: reply(f"Issue {n}: be more precise."), condense=lambda n: reply(QUESTION))
    )
    ctx = context(max_samples=2, max_refine_rounds=1, answer_cache_ttl_seconds=0, cache_ttl_seconds=0)
    thread = str(uuid.uuid4())
    threaded.invoke({"question": QUESTION}, context=ctx, config=as_key(BOB, thread))
    provider.calls.clear()
    config = {"configurable": {"thread_id": thread}}
    forged = {"docs": 50, "samples": 16, "partitions": 16, "refine_rounds": 50, "model": ""}
    threaded.update_state(config, {"budget": forged, "refine_rounds": -40, "rewrites": -40}, as_node="difficulty")
    out = threaded.invoke(None, context=ctx, config=as_key(BOB, thread))
    assert provider.calls["generate"] <= 2 and provider.calls.get("refine", 0) <= 2  # one round: critique + revise
    assert out["compute"]["refine_rounds"] <= 1
    threaded.update_state(config, {"budget": {**forged, "model": "qwen2.5-coder-1.5b"}}, as_node="difficulty")
    with pytest.raises(Exception, match="not one of this deployment's chat models"):
        threaded.invoke(None, context=ctx, config=as_key(BOB, thread))
    assert all(request["model"] in ("", None) for _, request in provider.requests)


def test_a_hard_token_budget_is_never_passed_not_even_by_the_one_answer(use_provider, context):
    from ragloop.graph.builder import graph

    use_provider(scripts())
    out = graph.invoke(
        {"question": "In what country is Normandy located?"},
        context=context(max_tokens_per_query=52, hard_token_budget=True),
    )
    assert out["compute"]["tokens"] == 0 and out["compute"]["stop_reason"] == "token budget"
    assert out["answer"].startswith("Not answered") and not out["citations"]
    soft = graph.invoke({"question": "In what country is Normandy located?"}, context=context(max_tokens_per_query=52))
    assert soft["compute"]["tokens"] > 52  # without it the one answer is still made (the documented default)


def test_forged_negative_usage_cannot_lower_what_a_run_spent():
    from ragloop.logic.usage import tokens_spent
    from ragloop.state.reducers import merge_usage

    forged = merge_usage({}, {"generate": {"input_tokens": -10_000, "output_tokens": "lots"}})  # type: ignore[dict-item]
    after = merge_usage(forged, {"generate": {"input_tokens": 300, "output_tokens": 20, "calls": 1}})
    assert tokens_spent(after) == 320
