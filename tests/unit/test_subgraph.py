"""ragloop inside a larger agent: as a node with shared keys, and behind a wrapper node."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph

from ragloop.graph.builder import graph as ragloop_graph
from ragloop.settings import Context
from tests.unit.test_graph import scripts


class ParentState(MessagesState):
    question: str
    answer: str
    citations: list[dict]


def test_subgraph_added_directly_shares_keys(use_provider, context):
    use_provider(scripts())

    def ask_from_messages(state: ParentState) -> dict:
        return {"question": state["messages"][-1].content}

    def reply_with_answer(state: ParentState) -> dict:
        return {"messages": [AIMessage(state["answer"])]}

    parent = StateGraph(ParentState, context_schema=Context)
    parent.add_node("to_question", ask_from_messages)
    parent.add_node("rag", ragloop_graph)  # the compiled graph itself is the node
    parent.add_node("reply", reply_with_answer)
    parent.add_edge(START, "to_question")
    parent.add_edge("to_question", "rag")
    parent.add_edge("rag", "reply")
    result = parent.compile().invoke(
        {"messages": [HumanMessage("In what country is Normandy located?")]},
        context=context(),
    )
    assert result["answer"] == "Normandy is in France [1]."
    assert result["citations"][0]["n"] == 1
    assert result["messages"][-1].content == result["answer"]


def test_subgraph_behind_a_wrapper_node(use_provider, context):
    use_provider(scripts())
    ctx = context()

    def rag(state: MessagesState) -> dict:
        out = ragloop_graph.invoke({"question": state["messages"][-1].content}, context=ctx)
        sources = ", ".join(c["id"] for c in out["citations"])
        return {"messages": [AIMessage(f"{out['answer']} (sources: {sources})")]}

    parent = StateGraph(MessagesState)
    parent.add_node("rag", rag)
    parent.add_edge(START, "rag")
    result = parent.compile().invoke({"messages": [HumanMessage("In what country is Normandy located?")]})
    assert result["messages"][-1].content.startswith("Normandy is in France [1]. (sources: ")
    assert len(result["messages"]) == 2
