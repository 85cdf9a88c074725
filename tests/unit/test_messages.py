"""Chat clients and agents: the graph takes `messages`, appends one AIMessage, and streams only that."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph

from ragloop.errors import InputError
from ragloop.graph.builder import graph
from ragloop.settings import Context
from tests.conftest import reply
from tests.unit.test_graph import scripts

QUESTION = "In what country is Normandy located?"


def test_a_conversation_in_gets_one_answer_message_out_with_its_sources(use_provider, context):
    use_provider(scripts())
    out = graph.invoke({"messages": [HumanMessage(QUESTION)]}, context=context())
    assert [m.type for m in out["messages"]] == ["human", "ai"]
    answer = out["messages"][-1]
    assert answer.content == out["answer"] == "Normandy is in France [1]." and answer.name == "ragloop"
    assert answer.response_metadata["citations"] == out["citations"] and out["citations"]
    assert answer.response_metadata["difficulty"]["level"] == out["difficulty"]["level"]
    assert answer.response_metadata["tokens"] == out["compute"]["tokens"] > 0
    assert out["question"] == out["asked"] == QUESTION


def test_a_question_in_still_works_and_the_transcript_gets_both_turns(use_provider, context):
    use_provider(scripts())
    out = graph.invoke({"question": QUESTION}, context=context())
    assert [(m.type, m.text) for m in out["messages"]] == [("human", QUESTION), ("ai", out["answer"])]


def test_earlier_turns_in_the_messages_are_the_history_a_follow_up_is_read_with(use_provider, context):
    provider = use_provider(scripts(condense=lambda n: reply("When did the Normans give their name to Normandy?")))
    history = [HumanMessage(QUESTION), AIMessage("France."), HumanMessage("And when?")]
    out = graph.invoke({"messages": history}, context=context())
    assert provider.calls["condense"] == 1
    assert out["asked"] == "And when?" and out["question"].startswith("When did the Normans")
    assert [m.type for m in out["messages"]] == ["human", "ai", "human", "ai"]


def test_messages_that_end_unasked_are_refused_with_one_sentence(use_provider, context):
    use_provider(scripts())
    with pytest.raises(InputError, match="The question is empty"):
        graph.invoke({"messages": [HumanMessage(QUESTION), AIMessage("France.")]}, context=context())


def test_a_messages_state_parent_embeds_the_graph_with_no_wrapper(use_provider, context):
    use_provider(scripts())
    parent = StateGraph(MessagesState, context_schema=Context)
    parent.add_node("rag", graph)
    parent.add_edge(START, "rag")
    out = parent.compile().invoke({"messages": [HumanMessage(QUESTION)]}, context=context())
    assert [m.type for m in out["messages"]] == ["human", "ai"]
    assert out["messages"][-1].content == "Normandy is in France [1]."


def test_in_messages_mode_only_the_answer_reaches_the_client_and_usage_is_counted(use_provider, context):
    """Every internal call (draft, grade, generate…) is tagged nostream; the answer arrives as one message."""
    use_provider(scripts())
    ctx = context(answer_cache_ttl_seconds=0)
    streamed, final = [], {}
    for mode, chunk in graph.stream(
        {"messages": [HumanMessage(QUESTION)]}, context=ctx, stream_mode=["messages", "values"]
    ):
        if mode == "messages":
            streamed.append(chunk[0])
        else:
            final = chunk
    assert [m.text for m in streamed] == [final["answer"]]
    plain = graph.invoke({"messages": [HumanMessage(QUESTION)]}, context=ctx)
    assert final["compute"]["tokens"] == plain["compute"]["tokens"] > 0


def test_every_model_call_is_tagged_with_its_role_and_level(use_provider, context):
    from langchain_core.callbacks import BaseCallbackHandler

    seen: list[tuple[list[str], dict]] = []

    class Recorder(BaseCallbackHandler):
        def on_chat_model_start(self, serialized, messages, *, tags=None, metadata=None, **kwargs):
            seen.append((tags or [], metadata or {}))

    use_provider(scripts())
    graph.invoke(
        {"question": QUESTION}, context=context(answer_cache_ttl_seconds=0), config={"callbacks": [Recorder()]}
    )
    roles = {m["ragloop_role"] for _, m in seen}
    assert {"difficulty", "grade", "generate"} <= roles
    assert all("nostream" in tags for tags, _ in seen)
    assert any("ragloop:easy" in tags for tags, m in seen if m["ragloop_role"] == "generate")
