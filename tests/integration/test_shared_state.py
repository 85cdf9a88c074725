"""State shared beyond one process, on real servers: the Redis cache between replicas, PostgreSQL threads."""

from __future__ import annotations

import json

import pytest

from ragloop.cli import main
from ragloop.errors import ConfigError
from ragloop.graph.builder import compile_graph
from ragloop.persistence.backends import open_cache, open_checkpointer
from tests.conftest import reply
from tests.servers.databases import free_port, postgres_server, redis_server
from tests.unit.test_graph import scripts

QUESTION = {"question": "Where does the Rhine flow?"}


@pytest.fixture(scope="module")
def redis_url():
    with redis_server() as url:
        yield url


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server() as url:
        yield url


def test_replicas_share_answers_and_search_results_through_redis(use_provider, context, redis_url):
    import redis

    provider = use_provider(scripts())
    replica_a, replica_b = (compile_graph(cache=open_cache(redis_url)) for _ in range(2))
    first = replica_a.invoke(QUESTION, context=context(answer_cache_ttl_seconds=120))
    again = replica_b.invoke(QUESTION, context=context(answer_cache_ttl_seconds=120))
    assert provider.calls["generate"] == 1 and again["answer"] == first["answer"]
    assert again["compute"]["cache"] == {"answer": {"hits": 1, "misses": 0}}
    other = replica_b.invoke(QUESTION, context=context(answer_cache_ttl_seconds=0))  # a new answer, same search
    assert provider.calls["generate"] == 2
    assert other["compute"]["cache"] == {"retrieve": {"hits": 1, "misses": 0}, "rerank": {"hits": 1, "misses": 0}}
    client = redis.Redis.from_url(redis_url)
    answers = client.keys("ragloop:ragloop:answers:*")
    assert len(answers) == 1 and 0 < client.ttl(answers[0]) <= 120


def test_an_unreachable_redis_costs_the_cache_not_the_answer(use_provider, context):
    use_provider(scripts())
    graph = compile_graph(cache=open_cache(f"redis://127.0.0.1:{free_port()}/0"))
    for _ in range(2):
        result = graph.invoke(QUESTION, context=context())
        assert result["answer"] == "Normandy is in France [1]."


def test_a_thread_resumes_after_a_restart_on_postgres(use_provider, context, postgres_url):
    seen: list[str] = []

    def condense(n, prompt):
        seen.append(prompt)
        return reply("In what country is the Rhine's mouth?")

    use_provider(scripts(condense=condense))
    config = {"configurable": {"thread_id": "conversation-pg"}}
    with open_checkpointer(postgres_url) as saver:
        compile_graph(checkpointer=saver).invoke(QUESTION, config, context=context())
    with open_checkpointer(postgres_url) as saver:  # a new connection and graph: a new process
        graph = compile_graph(checkpointer=saver)
        second = graph.invoke({"question": "And its mouth?"}, config, context=context())
        assert "Q: Where does the Rhine flow?" in seen[0]
        assert second["question"] == "In what country is the Rhine's mouth?"
        assert [t["question"] for t in graph.get_state(config).values["history"]] == [
            "Where does the Rhine flow?",
            "And its mouth?",
        ]


def test_ask_thread_on_postgres_from_the_command_line(use_provider, fake_index, postgres_url, monkeypatch, capsys):
    use_provider(scripts(condense=lambda n: reply("In what country is the Rhine's mouth?")))
    monkeypatch.setenv("RAGLOOP_INDEX", str(fake_index))
    monkeypatch.setenv("RAGLOOP_THREADS_URL", postgres_url)
    assert main(["ask", "Where does the Rhine flow?", "--thread", "cli", "--json"]) == 0
    capsys.readouterr()
    assert main(["ask", "And its mouth?", "--thread", "cli", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["question"] == "In what country is the Rhine's mouth?"


def test_an_unreachable_postgres_is_one_clear_line(use_provider, fake_index, monkeypatch, capsys):
    use_provider(scripts())
    monkeypatch.setenv("RAGLOOP_INDEX", str(fake_index))
    url = f"postgresql://ragloop@127.0.0.1:{free_port()}/postgres?connect_timeout=3"
    monkeypatch.setenv("RAGLOOP_THREADS_URL", url)
    assert main(["ask", "Where does the Rhine flow?", "--thread", "t"]) != 0
    err = capsys.readouterr().err
    assert "RAGLOOP_THREADS_URL: cannot reach PostgreSQL at 127.0.0.1" in err and "Traceback" not in err
    with pytest.raises(ConfigError, match="not a checkpointer"), open_checkpointer("mysql://x"):
        pass


def test_replicas_share_the_rate_limit_and_daily_budget_through_redis(redis_url, monkeypatch):
    import redis

    from ragloop.serving.limits import RedisLimits, today

    monkeypatch.setattr("ragloop.serving.limits.time.time", lambda: 1_800_000_000.0)  # one clock minute throughout
    replica_a, replica_b = (RedisLimits(redis.Redis.from_url(redis_url), prefix="test:") for _ in range(2))
    allowed = [replica.allow_request("key-abc", 5) for replica in (replica_a, replica_b) * 4]
    assert allowed.count(True) == 5 and allowed[5:] == [False] * 3  # 5 per minute across both replicas
    replica_a.add_tokens("key-abc", 700)
    replica_b.add_tokens("key-abc", 500)
    assert replica_a.tokens_today("key-abc") == replica_b.tokens_today("key-abc") == 1200
    assert 0 < redis.Redis.from_url(redis_url).ttl(f"test:tokens:key-abc:{today()}") <= 2 * 86_400


def test_unreachable_limits_redis_fails_open(caplog):
    import redis

    from ragloop.serving.limits import RedisLimits

    gone = RedisLimits(redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1))
    assert gone.allow_request("key-abc", 1) and gone.allow_request("key-abc", 1)
    assert gone.tokens_today("key-abc") == 0
    assert "not enforced" in caplog.text
