"""Serving: API-key auth decisions, /ragloop/metrics after real runs, /health (Starlette's test client, no server)."""

from __future__ import annotations

import asyncio

import pytest
from langgraph_sdk import Auth

from ragloop.serving import auth as auth_module
from ragloop.serving import metrics
from ragloop.serving.limits import limits

KEYS = "alpha-key-123,beta-key-456"


def authenticate(headers: dict):
    return asyncio.run(auth_module.authenticate(headers))


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setenv("RAGLOOP_API_KEYS", KEYS)
    monkeypatch.setenv("RAGLOOP_REQUESTS_PER_MINUTE", "0")
    monkeypatch.delenv("RAGLOOP_LIMITS_URL", raising=False)
    limits.cache_clear()  # fresh in-memory counters for each test
    yield
    limits.cache_clear()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({b"x-api-key": b"wrong"}, 403),
        ({b"authorization": b"Bearer wrong"}, 403),
        ({b"x-api-key": b"alpha-key-12"}, 403),  # a prefix of a real key
    ],
)
def test_missing_or_wrong_keys_are_refused(headers, status):
    with pytest.raises(Auth.exceptions.HTTPException) as refused:
        authenticate(headers)
    assert refused.value.status_code == status
    assert "alpha-key-123" not in str(refused.value.detail)


@pytest.mark.parametrize(
    "headers",
    [{b"x-api-key": b"alpha-key-123"}, {b"x-api-key": b"beta-key-456"}, {b"authorization": b"Bearer beta-key-456"}],
)
def test_any_configured_key_is_accepted_and_known_by_a_hash(headers):
    user = authenticate(headers)
    assert user["identity"].startswith("key-") and "key-123" not in user["identity"]


def test_no_keys_configured_refuses_everything_and_says_how_to_fix_it(monkeypatch):
    monkeypatch.delenv("RAGLOOP_API_KEYS")
    with pytest.raises(Auth.exceptions.HTTPException, match="RAGLOOP_API_KEYS") as refused:
        authenticate({b"x-api-key": b"anything"})
    assert refused.value.status_code == 401


def test_the_per_key_request_rate_is_limited(monkeypatch):
    monkeypatch.setenv("RAGLOOP_REQUESTS_PER_MINUTE", "3")
    for _ in range(3):
        authenticate({b"x-api-key": b"alpha-key-123"})
    with pytest.raises(Auth.exceptions.HTTPException) as refused:
        authenticate({b"x-api-key": b"alpha-key-123"})
    assert refused.value.status_code == 429
    authenticate({b"x-api-key": b"beta-key-456"})  # another key has its own bucket


def start_run(key: str, run_id: str, context: dict | None = None, **kwargs) -> dict:
    """What the server's create-run authorization does for this key's run (serving/auth.py): the context the
    run is then started with."""
    from types import SimpleNamespace

    ctx = SimpleNamespace(user=SimpleNamespace(identity=auth_module.identity_of(key)), action="create_run")
    value = {"run_id": run_id, "assistant_id": "any", "kwargs": {"context": context or {}, **kwargs}}
    asyncio.run(auth_module.runs_ask_for_per_request_settings(ctx, value))
    return value["kwargs"]["context"]


def test_a_run_is_granted_its_share_of_the_daily_budget_as_a_hard_cap_or_refused(monkeypatch):
    monkeypatch.setenv("RAGLOOP_DAILY_TOKENS", "2000")
    identity = auth_module.identity_of("alpha-key-123")
    run_1 = start_run("alpha-key-123", "run-1", {"max_tokens_per_query": 600, "top-n": 3})
    assert run_1 == {"max_tokens_per_query": 600, "top_n": 3, "hard_token_budget": True}  # as checked, names normalised
    run_2 = start_run("alpha-key-123", "run-2")  # no cap of its own: the 1400 left are its hard cap
    assert run_2 == {"max_tokens_per_query": 1400, "hard_token_budget": True}
    assert limits().tokens_today(identity) == 2000
    with pytest.raises(Auth.exceptions.HTTPException, match="daily budget") as refused:
        start_run("alpha-key-123", "run-3")  # concurrent runs cannot overrun the budget
    assert refused.value.status_code == 429 and int(refused.value.headers["Retry-After"]) > 0
    metrics.observe_run({}, {"compute": {"tokens": 100}}, identity, "run-1")  # settles: 500 of 600 back
    assert limits().tokens_today(identity) == 1500
    with pytest.raises(Auth.exceptions.HTTPException, match="too little left"):
        start_run("alpha-key-123", "run-4")  # 500 left cannot pay for one answer (generate + a chunk + prompt)
    assert limits().tokens_today(identity) == 1500  # a refused run holds nothing back
    assert start_run("alpha-key-123", "run-5", {"max_tokens_per_query": 500})["max_tokens_per_query"] == 500
    authenticate({b"x-api-key": b"alpha-key-123"})  # reads still pass
    start_run("beta-key-456", "run-6")  # another key has its own budget


def test_a_run_with_a_command_is_refused_for_a_key_but_not_for_an_operator(monkeypatch):
    monkeypatch.setenv("RAGLOOP_ADMIN_KEYS", "beta-key-456")
    forged = {"goto": "retrieve", "update": {"tenant": ""}}
    with pytest.raises(Auth.exceptions.HTTPException, match="command") as refused:
        start_run("alpha-key-123", "run-1", command=forged)
    assert refused.value.status_code == 403
    start_run("beta-key-456", "run-2", command=forged)


def test_a_thread_state_write_is_refused_for_a_key_and_metadata_updates_pass(monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setenv("RAGLOOP_ADMIN_KEYS", "beta-key-456")

    def update(key: str, value: dict):
        ctx = SimpleNamespace(user=SimpleNamespace(identity=auth_module.identity_of(key)), action="update")
        return asyncio.run(auth_module.threads_state_is_the_graphs(ctx, value))

    with pytest.raises(Auth.exceptions.HTTPException, match="state") as refused:
        update("alpha-key-123", {"thread_id": "t"})  # POST /threads/t/state, /state/batch, supersteps
    assert refused.value.status_code == 403
    assert update("alpha-key-123", {"thread_id": "t", "metadata": {"x": 1}}) == {
        "owner": auth_module.identity_of("alpha-key-123")
    }
    assert update("alpha-key-123", {"thread_id": "t", "action": "interrupt"})  # cancelling its own run
    assert update("beta-key-456", {"thread_id": "t"}) is True  # an operator's edit in Studio


def test_scheduler_keys_in_a_runs_context_are_not_settings_and_names_are_normalised():
    from ragloop.serving.policy import Refused, check, requested_settings

    cron_run = {"context": {"cron_id": "c1", "langgraph_auth_user_id": "k", "thread_id": "t", "top_n": 3}}
    assert requested_settings(cron_run) == {"top_n": 3}
    for name in ("nvidia-base-url", " nvidia_base_url", "NVIDIA_BASE_URL ".lower()):
        with pytest.raises(Refused, match="nvidia_base_url is a deployment setting"):
            check(requested_settings({"context": {name: "http://127.0.0.1:9"}}))
        with pytest.raises(Refused, match="nvidia_base_url is a deployment setting"):
            check(requested_settings({"config": {"configurable": {name: "http://127.0.0.1:9"}}}))
    with pytest.raises(Refused, match="over this server's ceiling"):
        check(requested_settings({"context": {" max-samples": 40}}))


def test_a_run_that_fails_keeps_its_reservation_charged(monkeypatch):
    monkeypatch.setenv("RAGLOOP_DAILY_TOKENS", "3000")
    for n in range(3):
        start_run("alpha-key-123", f"failing-{n}", {"max_tokens_per_query": 1000})  # none of them settles
    with pytest.raises(Auth.exceptions.HTTPException, match="daily budget"):
        start_run("alpha-key-123", "one-more", {"max_tokens_per_query": 1000})


def test_metrics_parse_and_move_after_a_run(use_provider, context):
    from prometheus_client.parser import text_string_to_metric_families
    from starlette.testclient import TestClient

    from ragloop.graph.builder import graph
    from ragloop.serving.app import app
    from tests.unit.test_graph import scripts

    def sample(name: str, **labels) -> float:
        body = TestClient(app).get("/ragloop/metrics").text
        return sum(
            s.value
            for f in text_string_to_metric_families(body)
            for s in f.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    use_provider(scripts())
    runs, retrieve = sample("ragloop_runs_total"), sample("ragloop_node_seconds_count", node="retrieve")
    graph.invoke({"question": "Where is Normandy?"}, context=context())
    assert sample("ragloop_runs_total", stop_reason="answered") >= 1
    assert sample("ragloop_runs_total") == runs + 1
    assert sample("ragloop_node_seconds_count", node="retrieve") == retrieve + 1
    assert sample("ragloop_tokens_total", model="unknown", kind="input") > 0
    assert sample("ragloop_difficulty_total", level="easy") >= 1
    assert sample("ragloop_node_cache_bytes") > 0  # the run's retrieval and answer are cached
    hits = sample("ragloop_cache_total", cache="answer", result="hit")
    graph.invoke({"question": "Where is Normandy?"}, context=context())  # answered from the answer cache
    assert sample("ragloop_cache_total", cache="answer", result="hit") == hits + 1
    assert sample("ragloop_runs_total") == runs + 2


def test_health_reports_the_index(fake_index, monkeypatch, tmp_path):
    from starlette.testclient import TestClient

    from ragloop.serving.app import app

    monkeypatch.setenv("RAGLOOP_INDEX", str(tmp_path / "none"))
    missing = TestClient(app).get("/health")
    assert missing.status_code == 503 and "No ragloop index" in missing.json()["checks"]["index"]["error"]


@pytest.fixture
def index_api(fake_index, monkeypatch, use_provider):
    import time

    from starlette.testclient import TestClient

    from ragloop.serving.app import app
    from tests.unit.test_graph import scripts

    use_provider(scripts())
    monkeypatch.setenv("RAGLOOP_INDEX", str(fake_index))
    monkeypatch.setenv("RAGLOOP_ADMIN_KEYS", "alpha-key-123")  # changing the shared index takes an operator key
    client = TestClient(app, headers={"x-api-key": "alpha-key-123"})

    def wait(job: dict) -> dict:
        for _ in range(200):
            job = client.get(f"/index/jobs/{job['id']}").json()
            if job["status"] in ("done", "failed"):
                return job
            time.sleep(0.05)
        raise AssertionError(job)

    return client, wait


def test_index_routes_need_a_key(index_api):
    from starlette.testclient import TestClient

    from ragloop.serving.app import app

    assert TestClient(app).post("/index/documents", json={"documents": []}).status_code == 401
    assert TestClient(app, headers={"x-api-key": "nope"}).get("/index").status_code == 403


def test_documents_are_added_replaced_and_deleted_through_jobs(index_api):
    client, wait = index_api
    before = client.get("/index").json()
    job = client.post("/index/documents", json={"documents": [{"source": "zebra.txt", "text": "Zebras are striped."}]})
    assert job.status_code == 202 and job.json()["status"] == "queued" and job.json()["read"] == ["zebra.txt"]
    done = wait(job.json())
    assert done["status"] == "done" and done["added_chunks"] == 1 and done["embedded_chunks"] == 1
    assert client.get("/index").json()["chunks"] == before["chunks"] + 1
    replaced = wait(
        client.post(
            "/index/documents",
            json={"documents": [{"source": "zebra.txt", "text": "Zebras live in Africa.", "title": "Zebra"}]},
        ).json()
    )
    assert replaced["removed_chunks"] == 1 and replaced["added_chunks"] == 1
    deleted = wait(client.delete("/index/sources/zebra.txt").json())
    assert deleted["status"] == "done" and client.get("/index").json()["chunks"] == before["chunks"]
    failed = wait(client.delete("/index/sources/zebra.txt").json())
    assert failed["status"] == "failed" and "Nothing indexed comes from zebra.txt" in failed["error"]


@pytest.mark.parametrize(
    "body", [{"docs": []}, {"documents": [{"text": "no source"}]}, {"documents": [{"source": "a", "text": "  "}]}]
)
def test_bad_documents_are_refused_with_a_reason(index_api, body):
    client, _ = index_api
    refused = client.post("/index/documents", json=body)
    assert refused.status_code == 422 and "text" in refused.json()["detail"]


def test_the_index_route_takes_a_pdf_as_base64(index_api):
    import base64
    from pathlib import Path

    client, wait = index_api
    pdf = Path(__file__).resolve().parents[1] / "fixtures" / "documents" / "handbook.pdf"
    body = {"documents": [{"source": "handbook.pdf", "base64": base64.b64encode(pdf.read_bytes()).decode()}]}
    done = wait(client.post("/index/documents", json=body).json())
    assert done["status"] == "done" and done["added_chunks"] == 2
    assert "handbook.pdf" in client.get("/index").json()["sources"]
    refused = client.post("/index/documents", json={"documents": [{"source": "x.pdf", "base64": "bm9wZQ=="}]})
    assert refused.status_code == 422 and "x.pdf is not a readable PDF" in refused.json()["detail"]


def test_only_an_operator_key_changes_the_shared_index_and_jobs_are_their_owners(index_api, monkeypatch):
    from starlette.testclient import TestClient

    from ragloop.serving.app import app

    client, wait = index_api
    job = client.post("/index/documents", json={"documents": [{"source": "zebra.txt", "text": "Zebras."}]}).json()
    other = TestClient(app, headers={"x-api-key": "beta-key-456"})
    refused = other.post("/index/documents", json={"documents": [{"source": "z.txt", "text": "Z."}]})
    assert refused.status_code == 403 and "operator key" in refused.json()["detail"]
    assert other.delete("/index/sources/zebra.txt").status_code == 403
    assert other.get(f"/index/jobs/{job['id']}").status_code == 404  # another key's job does not exist
    assert wait(job)["status"] == "done"
    assert other.get("/index").status_code == 200  # reading the shared index is every key's


@pytest.mark.parametrize("source", ["../../etc/passwd", "/etc/passwd", "a/../../b", "bell\x07.txt", "x" * 513, "   "])
def test_source_names_that_are_paths_or_garbage_are_refused(index_api, source):
    client, _ = index_api
    before = client.get("/index").json()
    refused = client.post("/index/documents", json={"documents": [{"source": source, "text": "Text."}]})
    assert refused.status_code == 422
    assert client.get("/index").json() == before


def test_oversized_malformed_and_deeply_nested_bodies_get_4xx(index_api, monkeypatch):
    client, _ = index_api
    monkeypatch.setenv("RAGLOOP_MAX_BODY_BYTES", "1000")
    big = {"documents": [{"source": "big.txt", "text": "x" * 2000}]}
    assert client.post("/index/documents", json=big).status_code == 413
    nested = "[" * 100_000 + "]" * 100_000
    monkeypatch.setenv("RAGLOOP_MAX_BODY_BYTES", str(10**6))
    deep = client.post("/index/documents", content=nested, headers={"content-type": "application/json"})
    assert deep.status_code == 422
    assert (
        client.post("/index/documents", content=b"{oops", headers={"content-type": "application/json"}).status_code
        == 422
    )
    assert client.delete("/index/sources/..%2F..%2Fetc").status_code in (404, 422)


def test_the_rate_limit_answers_429_on_the_servers_own_routes_too(monkeypatch):
    from starlette.exceptions import HTTPException

    monkeypatch.setenv("RAGLOOP_REQUESTS_PER_MINUTE", "1")
    authenticate({b"x-api-key": b"alpha-key-123"})
    with pytest.raises(HTTPException) as refused:  # LangGraph passes Starlette's through with its status
        authenticate({b"x-api-key": b"alpha-key-123"})
    assert refused.value.status_code == 429 and refused.value.headers == {"Retry-After": "5"}


@pytest.mark.parametrize(
    ("source", "make", "limit"),
    [
        ("paragraphs.docx", "paragraph_bomb_docx", "upload_max_parts"),
        ("bloated.docx", "bloated_xml_docx", "upload_max_unzipped_mib"),
        ("pages.pdf", "many_pages_pdf", "upload_max_pages"),
        ("bomb.pdf", "flate_bomb_pdf", "inflates past the upload limit"),
    ],
)
def test_hostile_files_are_refused_by_name_and_limit_before_they_are_parsed(index_api, source, make, limit):
    import base64

    from tests.fixtures import bombs

    client, _ = index_api
    before = client.get("/index").json()
    body = {"documents": [{"source": source, "base64": base64.b64encode(getattr(bombs, make)()).decode()}]}
    refused = client.post("/index/documents", json=body)
    assert refused.status_code == 422 and source in refused.json()["detail"] and limit in refused.json()["detail"]
    assert client.get("/index").json() == before


def test_a_parse_past_its_time_is_refused_and_the_parser_replaced(index_api, monkeypatch):
    import base64

    from tests.fixtures import bombs

    client, wait = index_api
    monkeypatch.setenv("RAGLOOP_SETTINGS", '{"upload_parse_seconds": 1, "upload_max_pages": 100000}')
    body = {"documents": [{"source": "slow.pdf", "base64": base64.b64encode(bombs.many_pages_pdf(4000)).decode()}]}
    refused = client.post("/index/documents", json=body)
    assert refused.status_code == 422 and "upload_parse_seconds" in refused.json()["detail"]
    job = client.post("/index/documents", json={"documents": [{"source": "after.txt", "text": "Okapis."}]})
    assert wait(job.json())["status"] == "done"  # the next upload gets a fresh parser


def test_a_forged_run_report_cannot_grow_the_metrics_without_bound():
    """A run's report is made from its state: 200 made-up models, levels and stop reasons become at most
    MAX_LABEL_VALUES label values each (the rest "other"), and negative or non-numeric counts add nothing."""
    from prometheus_client.parser import text_string_to_metric_families

    for n in range(200):
        state = {"difficulty": {"level": f"level-{n}"}, "usage_by_model": {f"model-{n}": {"input_tokens": 5}}}
        metrics.observe_run(
            state, {"compute": {"stop_reason": f"reason-{n}", "tokens": -5, "retries": {"x": "y"}}}, None
        )
    body, _ = metrics.exposition()
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            for name, value in sample.labels.items():
                labels.setdefault(f"{family.name}.{name}", set()).add(value)
    assert len(labels["ragloop_tokens.model"]) <= metrics.MAX_LABEL_VALUES + 1
    assert len(labels["ragloop_runs.stop_reason"]) <= metrics.MAX_LABEL_VALUES + 1
    assert "other" in labels["ragloop_difficulty.level"]


def test_per_request_settings_at_their_defaults_pass_the_ceilings_and_changed_ones_are_checked():
    from ragloop.serving.policy import Refused, check
    from ragloop.settings import Context, deployment_fields

    defaults = {k: v for k, v in Context().to_dict().items() if k not in deployment_fields()}
    assert check(defaults).max_tokens_per_query == 0  # what a form posting every default sends
    with pytest.raises(Refused, match="max_samples=9 is over this server's ceiling of 8"):
        check({**defaults, "max_samples": 9})
