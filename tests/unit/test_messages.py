"""Chat clients and agents: the graph takes `messages`, appends one AIMessage, and streams only that."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph

from ragloop.errors import InputError
from ragloop.graph.builder import graph
from ragloop.settings import Context
from tests.conftest import reply
from tests.unit.test_graph import UNSURE, scripts

QUESTION = "In what country is Normandy located?"


def test_a_conversation_in_gets_one_answer_message_out_with_its_sources(use_provider, context):
    use_provider(scripts())
    out = graph.invoke({"messages": [HumanMessage(QUESTION)]}, context=context())
    assert [m.type for m in out["messages"]] == ["human", "ai"]
    answer = out["messages"][-1]
    assert out["answer"] == "Normandy is in France [1]." and answer.name == "ragloop"
    assert answer.text == "Normandy is in France [1].\n\n**Sources**\n- [1] *Normans* — facts.jsonl"
    [block] = answer.content_blocks
    [cited] = block["annotations"]
    assert cited["type"] == "citation" and cited["title"] == "Normans" and cited["extras"]["n"] == 1
    assert cited["cited_text"].startswith("The Normans gave their name to Normandy")
    assert (cited["start_index"], cited["end_index"]) == (0, len(out["answer"]))
    assert answer.response_metadata["citations"] == out["citations"] and out["citations"]
    assert answer.response_metadata["answer"] == out["answer"]
    assert answer.response_metadata["difficulty"]["level"] == out["difficulty"]["level"]
    assert answer.response_metadata["tokens"] == out["compute"]["tokens"] > 0
    assert out["question"] == out["asked"] == QUESTION


def test_a_question_in_still_works_and_the_transcript_gets_both_turns(use_provider, context):
    use_provider(scripts())
    out = graph.invoke({"question": QUESTION}, context=context())
    assert [m.type for m in out["messages"]] == ["human", "ai"]
    assert out["messages"][0].text == QUESTION and out["messages"][1].text.startswith(out["answer"] + "\n\n**Sources**")


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
    assert out["messages"][-1].text.startswith("Normandy is in France [1].")


def streamed(ctx, question: str = QUESTION) -> tuple[list, dict]:
    """The `messages` stream's chunks and the final state of one run."""
    chunks, final = [], {}
    for mode, chunk in graph.stream(
        {"messages": [HumanMessage(question)]}, context=ctx, stream_mode=["messages", "values"]
    ):
        if mode == "messages":
            chunks.append(chunk)
        else:
            final = chunk
    return chunks, final


def test_in_messages_mode_the_answer_streams_token_by_token_and_usage_is_counted(use_provider, context):
    """The one call that writes the answer streams; internal calls (draft, grade…) stay hidden."""
    use_provider(scripts())
    ctx = context(answer_cache_ttl_seconds=0)
    chunks, final = streamed(ctx)
    assert len(chunks) >= 4  # "Normandy", " ", "is", … : the fake streams word by word
    assert {meta["ragloop_role"] for _, meta in chunks} == {"generate"}
    assert "".join(m.text for m, _ in chunks).strip() == final["answer"]
    answer = final["messages"][-1]
    assert {m.id for m, _ in chunks} == {answer.id}  # the streamed message, completed with its sources
    assert answer.text.startswith(final["answer"]) and "**Sources**" in answer.text
    plain = graph.invoke({"messages": [HumanMessage(QUESTION)]}, context=ctx)
    assert final["compute"]["tokens"] == plain["compute"]["tokens"] > 0


def test_answers_chosen_among_samples_arrive_whole_at_the_end(use_provider, context):
    """Best-of-N by vote: no sample is the answer before the vote, so none streams; the answer message does."""
    use_provider(scripts(difficulty=UNSURE))
    chunks, final = streamed(
        context(answer_cache_ttl_seconds=0, selection="vote", hard_samples=3, hard_refine_rounds=0)
    )
    assert final["compute"]["samples"] > 1
    assert [m.id for m, _ in chunks] == [final["messages"][-1].id]
    assert chunks[0][1]["langgraph_node"] == "finish"


def test_a_revision_streams_and_the_answer_message_completes_it(use_provider, context):
    """Hard, one sample, refinement: the sample and the critique are hidden; the revision streams."""
    revisions = ["Critique: too vague.", "Normandy is in France, in its north [1].", "OK"]
    use_provider(scripts(difficulty=UNSURE, refine=lambda n: reply(revisions[min(n, 3) - 1])))
    chunks, final = streamed(context(answer_cache_ttl_seconds=0, hard_samples=1, hard_refine_rounds=2))
    assert final["answer"] == "Normandy is in France, in its north [1]."
    assert {meta["ragloop_role"] for _, meta in chunks} == {"refine"}
    assert "".join(m.text for m, _ in chunks) == final["answer"]
    assert {m.id for m, _ in chunks} == {final["messages"][-1].id}


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
    assert all(("ragloop:answer" in tags) == (m["ragloop_role"] == "generate") for tags, m in seen)
    assert all("nostream" in tags for tags, m in seen if m["ragloop_role"] != "generate")
    assert any("ragloop:easy" in tags for tags, m in seen if m["ragloop_role"] == "generate")


def test_a_sources_list_renders_untrusted_titles_as_text():
    from ragloop.logic.messages import sources_markdown

    line = sources_markdown([{"n": 2, "title": "[x](javascript:alert(1)) <img src=x>", "source": "a.md", "page": 3}])
    assert line.splitlines()[1] == r"- [2] *\[x\]\(javascript:alert\(1\)\) \<img src=x\>* — a.md — p. 3"


def test_a_follow_up_reads_earlier_answers_without_their_sources_list(use_provider, context):
    from ragloop.logic.messages import turns_before

    use_provider(scripts())
    first = graph.invoke({"messages": [HumanMessage(QUESTION)]}, context=context())
    turns = turns_before([*first["messages"], HumanMessage("And when?")])
    assert turns == [{"question": QUESTION, "answer": first["answer"]}]


def test_an_async_parent_sees_the_answer_as_chat_model_stream_events(use_provider, context):
    import asyncio

    use_provider(scripts())
    parent = StateGraph(MessagesState, context_schema=Context)
    parent.add_node("rag", graph)
    parent.add_edge(START, "rag")
    parent = parent.compile()

    async def events():
        return [
            e
            async for e in parent.astream_events(
                {"messages": [HumanMessage(QUESTION)]}, context=context(answer_cache_ttl_seconds=0), version="v2"
            )
        ]

    seen = asyncio.run(events())
    tokens = [e for e in seen if e["event"] == "on_chat_model_stream"]
    assert len(tokens) >= 4 and all("ragloop:answer" in e["tags"] for e in tokens)  # internal calls stream none
    assert "".join(e["data"]["chunk"].text for e in tokens).strip() == "Normandy is in France [1]."


@pytest.mark.parametrize(("source", "where"), [("handbook.pdf", "page"), ("okapi.docx", "section")])
def test_the_answer_message_annotates_a_pdf_page_and_a_word_section(use_provider, tmp_path, source, where):
    from pathlib import Path

    from ragloop.application.indexing import index_files

    use_provider(scripts(generate=lambda n: reply("See the passages.")))
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "documents"
    ctx = Context(index_path=str(tmp_path / "ix"), easy_from_draft=False, answer_cache_ttl_seconds=0)
    index_files([str(fixtures)], ctx)
    out = graph.invoke({"question": "What does it say?", "filter": {"source": source}}, context=ctx)
    [block] = out["messages"][-1].content_blocks
    assert block["annotations"] and all(a["type"] == "citation" for a in block["annotations"])
    assert all(a["extras"]["source"] == source and a["extras"].get(where) for a in block["annotations"])
    assert all(a["cited_text"] for a in block["annotations"])
    label = "p. " if where == "page" else "§ "
    assert "**Sources**" in block["text"] and label in block["text"].split("**Sources**")[1]
