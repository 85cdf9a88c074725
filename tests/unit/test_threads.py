"""Conversation threads: follow-ups are condensed from the thread's history, which survives a restart (SQLite)."""

from __future__ import annotations

import json
import sqlite3

from langgraph.checkpoint.sqlite import SqliteSaver

from ragloop.graph.builder import compile_graph
from tests.conftest import reply
from tests.unit.test_graph import scripts


def condenser(seen: list[str]):
    def condense(n, prompt):
        seen.append(prompt)
        return reply("In what country is the Rhine's mouth?")

    return condense


def test_a_follow_up_is_condensed_from_the_history_and_searched_standalone(use_provider, context):
    from langgraph.checkpoint.memory import InMemorySaver

    seen: list[str] = []
    provider = use_provider(scripts(condense=condenser(seen)))
    graph = compile_graph(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    first = graph.invoke({"question": "Where does the Rhine flow?"}, config, context=context())
    assert "condense" not in provider.calls and first["asked"] == first["question"]
    second = graph.invoke({"question": "And in what country is its mouth?"}, config, context=context())
    assert provider.calls["condense"] == 1
    assert "Q: Where does the Rhine flow?" in seen[0] and f"A: {first['answer']}" in seen[0]
    assert "Follow-up question: And in what country is its mouth?" in seen[0]
    assert second["asked"] == "And in what country is its mouth?"
    assert second["question"] == "In what country is the Rhine's mouth?"
    history = graph.get_state(config).values["history"]
    assert [t["question"] for t in history] == ["Where does the Rhine flow?", "And in what country is its mouth?"]


def test_a_thread_resumes_after_the_process_restarts(use_provider, context, tmp_path):
    seen: list[str] = []
    use_provider(scripts(condense=condenser(seen)))
    db, config = tmp_path / "threads.sqlite", {"configurable": {"thread_id": "conversation-1"}}
    with sqlite3.connect(db, check_same_thread=False) as conn:
        compile_graph(checkpointer=SqliteSaver(conn)).invoke(
            {"question": "Where does the Rhine flow?"}, config, context=context()
        )
    conn.close()
    with sqlite3.connect(db, check_same_thread=False) as conn:  # a new connection, a new graph: a new process
        graph = compile_graph(checkpointer=SqliteSaver(conn))
        graph.invoke({"question": "And its mouth?"}, config, context=context())
        assert "Q: Where does the Rhine flow?" in seen[0]
        assert len(graph.get_state(config).values["history"]) == 2
    conn.close()


def test_history_turns_zero_never_condenses(use_provider, context):
    from langgraph.checkpoint.memory import InMemorySaver

    provider = use_provider(scripts())
    graph = compile_graph(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    for q in ("Where does the Rhine flow?", "And its mouth?"):
        result = graph.invoke({"question": q}, config, context=context(history_turns=0))
    assert "condense" not in provider.calls and result["question"] == "And its mouth?"


def test_ask_thread_on_the_command_line(use_provider, fake_index, monkeypatch, tmp_path, capsys):
    from ragloop.cli import main

    seen: list[str] = []
    use_provider(scripts(condense=condenser(seen)))
    monkeypatch.setenv("RAGLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RAGLOOP_INDEX", str(fake_index))
    assert main(["ask", "Where does the Rhine flow?", "--thread", "a", "--json"]) == 0
    capsys.readouterr()
    assert main(["ask", "And its mouth?", "--thread", "a", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["question"] == "In what country is the Rhine's mouth?" and len(seen) == 1
    assert (tmp_path / "home" / "threads.sqlite").exists()
    assert main(["ask", "And its mouth?", "--thread", "b", "--json"]) == 0  # another thread: no history
    assert json.loads(capsys.readouterr().out)["question"] == "And its mouth?"
