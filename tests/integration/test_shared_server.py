"""A server many keys share, tried as a hostile key holder would: deployment settings are the operator's,
each key sees only what it owns, and one request cannot buy unbounded work (a real `langgraph dev`)."""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from ragloop.serving.auth import identity_of
from ragloop.serving.devserver import dev_server
from ragloop.settings import deployment_fields

pytestmark = pytest.mark.integration
ALICE, BOB, ADMIN, CAROL = "alice-key-1f2e", "bob-key-9a8b", "admin-key-77aa", "carol-key-3c3c"
SECRET = "nvapi-secret-do-not-leak-5151"


@pytest.fixture(scope="module")
def server(tmp_path_factory, small_model_context):
    settings = {"index_path": small_model_context.index_path, "local_chat_model": "smollm2-135m", "local_n_ctx": 4096}
    env = {
        "RAGLOOP_API_KEYS": f"{ALICE},{BOB},{ADMIN}",
        "RAGLOOP_ADMIN_KEYS": ADMIN,
        "RAGLOOP_SETTINGS": json.dumps(settings),
        "RAGLOOP_REQUESTS_PER_MINUTE": "0",
        "NVIDIA_API_KEY": SECRET,
        "COHERE_API_KEY": SECRET,
    }
    with dev_server(tmp_path_factory.mktemp("shared") / "server.log", env=env) as url:
        yield url


@pytest.fixture
def listener():
    """An HTTP server on loopback that records any request: a leaked credential would land here."""
    seen: list[str] = []

    class Record(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.headers.get("Authorization", "") + " " + self.path)
            self.send_response(500)
            self.end_headers()

        do_GET = do_POST

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", seen
    httpd.shutdown()


def call(server: str, key: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict | list | str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        server + path, data=data, method=method, headers={"x-api-key": key, "content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            text = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as error:
        text, status = error.read().decode(), error.code
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


def ask(
    server: str,
    key: str,
    context: dict,
    thread: str | None = None,
    question: str = "What is the atomic number of oxygen?",
) -> tuple[int, dict | list | str]:
    path = f"/threads/{thread}/runs/wait" if thread else "/runs/wait"
    body = {"assistant_id": "ragloop", "input": {"question": question}}
    return call(server, key, "POST", path, {**body, "context": context})


def test_every_deployment_setting_is_refused_by_name_and_nothing_is_called(server, listener):
    url, seen = listener
    values = {"nvidia_base_url": url, "cohere_base_url": url, "bedrock_endpoint_url": url, "index_path": "/etc"}
    for name in deployment_fields():
        for where in ("context", "configurable"):
            value = values.get(name, "x" if name not in ("local_n_ctx", "local_threads") else 1024)
            body = {"assistant_id": "ragloop", "input": {"question": "Hi?"}}
            body |= {"context": {name: value}} if where == "context" else {"config": {"configurable": {name: value}}}
            status, detail = call(server, ALICE, "POST", "/runs/wait", body)
            assert status == 403 and f"{name} is a deployment setting" in json.dumps(detail), (name, where, detail)
            assert SECRET not in json.dumps(detail)
    status, detail = call(
        server, ALICE, "POST", "/assistants", {"graph_id": "ragloop", "context": {"price_table": "/dev/zero"}}
    )
    assert status == 403 and "price_table is a deployment setting" in json.dumps(detail)
    assert seen == []


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"k": 500}, "k=500 is over this server's ceiling of 100"),
        ({"max_samples": 40}, "max_samples=40 is over this server's ceiling of 8"),
        ({"max_tokens_per_query": 70_000}, "max_tokens_per_query=70000 is over this server's ceiling of 60000"),
        ({"rrf_c": -1}, "rrf_c must be between 0 and 10000, got -1"),
        ({"k": "abc"}, "Setting k takes a whole number, got 'abc'"),
        ({"not_a_setting": 1}, "Unknown setting 'not_a_setting'"),
    ],
)
def test_out_of_bounds_unknown_and_mistyped_settings_are_refused_with_a_sentence(server, context, message):
    status, detail = ask(server, ALICE, context)
    assert status == 422 and message in json.dumps(detail), detail


def test_each_key_sees_only_what_it_owns_and_the_operator_sees_everything(server):
    status, thread = call(server, ALICE, "POST", "/threads", {"metadata": {"owner": "someone-else"}})
    assert status == 200 and thread["metadata"]["owner"] != "someone-else"  # stamped, not taken from the client
    tid = thread["thread_id"]
    status, answered = ask(server, ALICE, {}, thread=tid)
    assert status == 200 and answered["answer"]
    for method, path, body in [
        ("GET", f"/threads/{tid}", None),
        ("GET", f"/threads/{tid}/state", None),
        ("GET", f"/threads/{tid}/runs", None),
        ("PATCH", f"/threads/{tid}", {"metadata": {"x": 1}}),
        ("DELETE", f"/threads/{tid}", None),
    ]:
        assert call(server, BOB, method, path, body)[0] == 404, (method, path)
    assert ask(server, BOB, {}, thread=tid)[0] == 404
    assert call(server, BOB, "POST", f"/threads/{tid}/state", {"values": {"answer": "PWNED"}})[0] in (403, 404)
    status, found = call(server, BOB, "POST", "/threads/search", {"limit": 100})
    assert status == 200 and tid not in {t["thread_id"] for t in found}
    assert call(server, ALICE, "GET", f"/threads/{tid}/state")[1]["values"]["answer"] == answered["answer"]
    assert call(server, ADMIN, "GET", f"/threads/{tid}")[0] == 200

    status, mine = call(server, ALICE, "POST", "/assistants", {"graph_id": "ragloop", "context": {"top_n": 3}})
    assert status == 200
    found = call(server, BOB, "POST", "/assistants/search", {"limit": 100})[1]
    ids = {a["assistant_id"] for a in found}
    assert mine["assistant_id"] not in ids and any(a["metadata"].get("created_by") == "system" for a in found)
    assert call(server, BOB, "DELETE", f"/assistants/{mine['assistant_id']}")[0] == 404
    system = next(a for a in found if a["metadata"].get("created_by") == "system" and a["graph_id"] == "ragloop")
    assert call(server, BOB, "PATCH", f"/assistants/{system['assistant_id']}", {"context": {"top_n": 1}})[0] == 404
    assert call(server, ADMIN, "PATCH", f"/assistants/{system['assistant_id']}", {"metadata": {"note": "ok"}})[0] == 200

    alice_ns = [identity_of(ALICE), "notes"]
    assert call(server, ALICE, "PUT", "/store/items", {"namespace": alice_ns, "key": "k", "value": {"v": 1}})[0] in (
        200,
        204,
    )
    assert call(server, BOB, "PUT", "/store/items", {"namespace": alice_ns, "key": "k", "value": {"v": 2}})[0] == 403
    status, _ = call(server, BOB, "GET", f"/store/items?namespace={'.'.join(alice_ns)}&key=k")
    assert status == 403

    # Metadata sent with an update cannot hand a thread to another key (nor plant one in its list).
    status, _ = call(server, ALICE, "PATCH", f"/threads/{tid}", {"metadata": {"owner": identity_of(BOB)}})
    assert status == 200 and call(server, BOB, "GET", f"/threads/{tid}")[0] == 404
    assert call(server, ALICE, "GET", f"/threads/{tid}")[1]["metadata"]["owner"] == identity_of(ALICE)


def test_crons_take_per_request_settings_only_and_run_as_their_owner(server):
    """A cron is a run on a schedule: its payload is held to the run's rules when it is created or changed,
    only its owner sees or changes it, and what it starts runs as that owner."""
    body = {"assistant_id": "ragloop", "schedule": "* * * * *", "input": {"question": "What is oxygen?"}}
    for path in ("/runs/crons", f"/threads/{call(server, ALICE, 'POST', '/threads', {})[1]['thread_id']}/runs/crons"):
        status, detail = call(server, ALICE, "POST", path, {**body, "context": {"index_path": "/etc"}})
        assert status == 403 and "index_path is a deployment setting" in json.dumps(detail), (path, detail)
        status, detail = call(server, ALICE, "POST", path, {**body, "context": {"max_samples": 40}})
        assert status == 422 and "over this server's ceiling" in json.dumps(detail), (path, detail)
    status, detail = call(server, ALICE, "POST", "/runs/crons", {**body, "assistant_id": "ragloop_index"})
    assert status == 403 and "operator key" in json.dumps(detail)

    tid = call(server, ALICE, "POST", "/threads", {})[1]["thread_id"]
    status, cron = call(server, ALICE, "POST", f"/threads/{tid}/runs/crons", {**body, "context": {"top_n": 3}})
    assert status == 200, cron
    cron_id = cron["cron_id"]
    assert call(server, BOB, "POST", f"/threads/{tid}/runs/crons", body)[0] == 404  # not on another key's thread
    assert cron_id not in {c["cron_id"] for c in call(server, BOB, "POST", "/runs/crons/search", {"limit": 100})[1]}
    assert cron_id in {c["cron_id"] for c in call(server, ALICE, "POST", "/runs/crons/search", {"limit": 100})[1]}
    assert cron_id in {c["cron_id"] for c in call(server, ADMIN, "POST", "/runs/crons/search", {"limit": 100})[1]}
    for method, change in (("PATCH", {"schedule": "0 0 1 1 *"}), ("DELETE", None)):
        assert call(server, BOB, method, f"/runs/crons/{cron_id}", change)[0] == 404, method
    status, detail = call(server, ALICE, "PATCH", f"/runs/crons/{cron_id}", {"context": {"price_table": "/dev/zero"}})
    assert status == 403 and "price_table is a deployment setting" in json.dumps(detail)

    deadline = time.monotonic() + 150  # the schedule fires at the next minute; the scheduler looks every 5 s
    runs: list = []
    while time.monotonic() < deadline and not any(r["status"] == "success" for r in runs):
        time.sleep(3)
        runs = call(server, ALICE, "GET", f"/threads/{tid}/runs")[1]
    assert any(r["status"] == "success" for r in runs), runs
    assert call(server, ALICE, "GET", f"/threads/{tid}/state")[1]["values"]["answer"]
    assert call(server, BOB, "GET", f"/threads/{tid}/runs")[0] == 404
    assert call(server, ALICE, "DELETE", f"/runs/crons/{cron_id}")[0] in (200, 204)


def test_per_key_tenancy_keeps_each_keys_documents_its_own(tmp_path):
    index = str(tmp_path / "tenants")
    settings = {"index_path": index, "local_chat_model": "smollm2-135m", "local_n_ctx": 4096, "tenancy": "per-key"}
    env = {
        "RAGLOOP_API_KEYS": f"{ALICE},{BOB}",
        "RAGLOOP_SETTINGS": json.dumps(settings),
        "RAGLOOP_REQUESTS_PER_MINUTE": "0",
    }
    secret = "The launch code of the Okapi project is 4471."
    with dev_server(tmp_path / "server.log", env=env) as server:
        for key, text in ((ALICE, secret), (BOB, "Bob's plan mentions giraffes only.")):
            body = {"assistant_id": "ragloop_index", "input": {"documents": [{"source": "plan.txt", "text": text}]}}
            status, out = call(server, key, "POST", "/runs/wait", body)
            assert status == 200 and out["chunks"] >= 1, out
        assert call(server, BOB, "GET", "/index")[1]["sources"] == ["plan.txt"]
        launch_code = "What is the launch code of the Okapi project?"
        status, answer = ask(server, BOB, {}, question=launch_code)
        assert status == 200 and "4471" not in json.dumps(answer)
        assert all(c["source"] == "plan.txt" for c in answer["citations"])
        # Bob names Alice's documents (or everyone's) through the state: refused at the door...
        bob_thread = call(server, BOB, "POST", "/threads", {})[1]["thread_id"]
        assert ask(server, BOB, {}, thread=bob_thread, question=launch_code)[0] == 200
        for tenant in ("", identity_of(ALICE)):
            forged = {"values": {"tenant": tenant, "filter": {"tenant": tenant}}, "as_node": "intake"}
            assert call(server, BOB, "POST", f"/threads/{bob_thread}/state", forged)[0] == 403
            goto = {"goto": "retrieve", "update": {"question": launch_code, "query": launch_code, "tenant": tenant}}
            assert call(server, BOB, "POST", "/runs/wait", {"assistant_id": "ragloop", "command": goto})[0] == 403
        # ...and the graph itself searches the run's own tenant whatever its filter says
        naming_alice = {"question": launch_code, "filter": {"tenant": identity_of(ALICE)}}
        status, answer = call(server, BOB, "POST", "/runs/wait", {"assistant_id": "ragloop", "input": naming_alice})
        assert status == 200 and "4471" not in json.dumps(answer), answer
        deleted = call(
            server, BOB, "POST", "/runs/wait", {"assistant_id": "ragloop_index", "input": {"delete": ["plan.txt"]}}
        )
        assert deleted[0] == 200
        status, answer = ask(server, ALICE, {}, question=launch_code)
        assert status == 200 and any(c["source"] == "plan.txt" for c in answer["citations"])  # Bob's delete left hers


def test_rate_and_budget_limits_hold_through_the_server(tmp_path, small_model_context):
    from concurrent.futures import ThreadPoolExecutor

    settings = {"index_path": small_model_context.index_path, "local_chat_model": "smollm2-135m", "local_n_ctx": 4096}
    env = {
        "RAGLOOP_API_KEYS": f"{ALICE},{BOB},{CAROL}",
        "RAGLOOP_SETTINGS": json.dumps(settings),
        "RAGLOOP_REQUESTS_PER_MINUTE": "10",
        "RAGLOOP_DAILY_TOKENS": "3000",
    }
    with dev_server(tmp_path / "server.log", env=env) as server:
        # Five concurrent runs each reserve 1000 of Alice's 3000 tokens: at most three start.
        context = {"max_tokens_per_query": 1000, "answer_cache_ttl_seconds": 0}
        with ThreadPoolExecutor(5) as pool:
            statuses = sorted(s for s, _ in pool.map(lambda _: ask(server, ALICE, context), range(5)))
        assert statuses.count(200) <= 3 and statuses.count(429) >= 2, statuses
        assert call(server, ALICE, "POST", "/threads/search", {})[0] == 200  # over budget, reads still work
        # Bob's bucket of ten requests a minute runs out on LangGraph's routes and ragloop's alike: 429, not 500.
        seen = [call(server, BOB, "POST", "/threads/search", {})[0] for _ in range(12)]
        assert seen[:10] == [200] * 10 and seen[10:] == [429, 429], seen
        request = urllib.request.Request(server + "/index", headers={"x-api-key": BOB})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 429 and refused.value.headers["Retry-After"] == "5"

        # Carol's first run reserves all but 52 of her 3 000 tokens; a second, with no cap of its own, is refused
        # while it runs (52 tokens cannot pay for an answer), instead of being granted 52 and running unbounded.
        thread = call(server, CAROL, "POST", "/threads", {})[1]["thread_id"]
        first_body = {"assistant_id": "ragloop", "input": {"question": "What is oxygen?"}}
        status, first = call(
            server, CAROL, "POST", f"/threads/{thread}/runs", {**first_body, "context": {"max_tokens_per_query": 2948}}
        )
        assert status == 200, first
        status, detail = ask(server, CAROL, {"answer_cache_ttl_seconds": 0})
        assert status == 429 and "too little left" in json.dumps(detail), (status, detail)
        out = call(server, CAROL, "GET", f"/threads/{thread}/runs/{first['run_id']}/join")[1]
        assert out["compute"]["tokens"] <= 2948 and out["compute"]["max_tokens_per_query"] == 2948, out["compute"]
        # Once it has settled, a run with no cap is granted what is left as its hard cap, or refused
        status, second = ask(server, CAROL, {"answer_cache_ttl_seconds": 0}, question="What is hydrogen?")
        left = 3000 - out["compute"]["tokens"]
        if status == 200:
            assert second["compute"]["max_tokens_per_query"] == left and second["compute"]["tokens"] <= left
        else:
            assert status == 429 and left < 1000, (status, second, left)


QUESTION = "What is the atomic number of oxygen?"


def test_state_is_the_graphs_a_key_cannot_write_it_nor_plant_an_answer_for_others(server):
    """Bob writes state the three ways LangGraph offers a client: a thread state update (as the answering
    node), a run's command, and a thread created with supersteps. Each is refused; Alice, another key and
    the operator get the graph's own answer; an operator (Studio's edit state) still may write."""
    planted = "PLANTED by Bob: the atomic number of oxygen is 99."
    bob_thread = call(server, BOB, "POST", "/threads", {})[1]["thread_id"]
    assert ask(server, BOB, {}, thread=bob_thread)[0] == 200
    writes = [
        (f"/threads/{bob_thread}/state", {"values": {"answer": planted}, "as_node": "finish"}),
        (f"/threads/{bob_thread}/state", {"values": {"tenant": "", "budget": {"samples": 16}}, "as_node": "intake"}),
        (f"/threads/{bob_thread}/state", {"values": {"budget": {"model": "qwen2.5-coder-1.5b"}}, "as_node": "plan"}),
    ]
    for path, body in writes:
        status, detail = call(server, BOB, "POST", path, body)
        assert status == 403 and "write a thread's state" in json.dumps(detail), (path, status, detail)
    # A thread created with supersteps is created (201), its state writes refused with the same sentence
    supersteps = {"supersteps": [{"updates": [{"values": {"answer": planted}, "as_node": "finish"}]}]}
    status, detail = call(server, BOB, "POST", "/threads", supersteps)
    assert status in (201, 403) and "write a thread's state" in json.dumps(detail), (status, detail)
    for thread in call(server, BOB, "POST", "/threads/search", {"limit": 100})[1]:
        assert "PLANTED" not in json.dumps(call(server, BOB, "GET", f"/threads/{thread['thread_id']}/state")[1])
    command = {"goto": "finish", "update": {"question": QUESTION, "answer": planted}}
    for path in ("/runs/wait", f"/threads/{bob_thread}/runs/wait"):
        status, detail = call(server, BOB, "POST", path, {"assistant_id": "ragloop", "command": command})
        assert status == 403 and "command" in json.dumps(detail), (path, status, detail)
    for key in (ALICE, BOB, ADMIN, ALICE):
        status, out = ask(server, key, {})
        assert status == 200 and "PLANTED" not in json.dumps(out), key
        assert all("/" not in model for model in out["usage_by_model"]), out["usage_by_model"]  # names, not paths
        assert "site-packages" not in json.dumps(out)
    assert "answer_cache" in out["compute"]  # the graph's own answers are still cached and served
    admin_thread = call(server, ADMIN, "POST", "/threads", {})[1]["thread_id"]
    assert ask(server, ADMIN, {}, thread=admin_thread)[0] == 200
    edit = {"values": {"answer": "Edited in Studio."}, "as_node": "finish"}
    assert call(server, ADMIN, "POST", f"/threads/{admin_thread}/state", edit)[0] == 200


def test_setting_names_are_normalised_once_for_the_policy_the_ceilings_and_the_graph(server, listener):
    url, seen = listener
    for name in ("nvidia-base-url", " nvidia_base_url", "nvidia_base_url "):
        for body in ({"context": {name: url}}, {"config": {"configurable": {name: url}}}):
            status, detail = call(server, ALICE, "POST", "/runs/wait", {"assistant_id": "ragloop", **body})
            assert status == 403 and "nvidia_base_url is a deployment setting" in json.dumps(detail), (name, detail)
    status, detail = ask(server, ALICE, {"max-samples": 40})
    assert status == 422 and "max_samples=40 is over this server's ceiling" in json.dumps(detail)
    status, out = ask(server, ALICE, {"max-docs": 1, "answer_cache_ttl_seconds": 0})
    assert status == 200 and out["budget"]["docs"] == 1  # the graph ran with the setting as checked
    assert seen == []


def test_a_cron_with_no_settings_runs_in_its_first_minute_as_its_owner(server):
    """The scheduler copies its own keys (cron_id, the auth user) into a settings-less run's context: they
    are not client settings, so the run is not refused."""
    tid = call(server, ALICE, "POST", "/threads", {})[1]["thread_id"]
    body = {"assistant_id": "ragloop", "schedule": "* * * * *", "input": {"question": QUESTION}}
    status, cron = call(server, ALICE, "POST", f"/threads/{tid}/runs/crons", body)
    assert status == 200, cron
    deadline, runs = time.monotonic() + 150, []
    while time.monotonic() < deadline and not any(r["status"] == "success" for r in runs):
        time.sleep(3)
        runs = call(server, ALICE, "GET", f"/threads/{tid}/runs")[1]
    assert any(r["status"] == "success" for r in runs), runs
    assert call(server, ALICE, "GET", f"/threads/{tid}/state")[1]["values"]["answer"]
    assert call(server, ALICE, "DELETE", f"/runs/crons/{cron['cron_id']}")[0] in (200, 204)


def while_reading(server: str, key: str, thread: str, action):
    """`action()`'s result while `key` reads its thread every 50 ms: (result, each read's seconds, the peak
    resident memory of the server's process tree in MiB)."""
    from ragloop.serving.devserver import tree_rss_mib

    port, reads, done = int(server.rsplit(":", 1)[1]), [], threading.Event()
    peak = [tree_rss_mib(port)]

    def read() -> None:
        while not done.is_set():
            start = time.perf_counter()
            assert call(server, key, "GET", f"/threads/{thread}")[0] == 200
            reads.append(time.perf_counter() - start)
            peak[0] = max(peak[0], tree_rss_mib(port))
            time.sleep(0.05)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        return action(), reads, peak[0]
    finally:
        done.set()
        reader.join()


def test_hostile_uploads_are_refused_without_stalling_other_keys_or_bloating_the_server(server, capsys):
    """The worst file of each kind, posted by the operator while Bob reads his thread every 50 ms: each is
    refused with 422 naming the file and its limit; Bob's reads stay under a second; the server's memory
    (its whole process tree, the parsing process included) stays within a small multiple of the body limit."""
    import base64

    from ragloop.serving.devserver import tree_rss_mib
    from tests.fixtures import bombs

    port = int(server.rsplit(":", 1)[1])
    tid = call(server, BOB, "POST", "/threads", {})[1]["thread_id"]
    files = [
        ("paragraphs.docx", bombs.paragraph_bomb_docx(), "upload_max_parts"),
        ("bloated.docx", bombs.bloated_xml_docx(), "upload_max_unzipped_mib"),
        ("pages.pdf", bombs.many_pages_pdf(), "upload_max_pages"),
        ("bomb.pdf", bombs.flate_bomb_pdf(), "inflates past the upload limit"),
    ]
    call(server, ADMIN, "POST", "/index/documents", {"documents": [{"source": "x.pdf", "base64": ""}]})  # parser up
    baseline = tree_rss_mib(port)
    report = []
    for source, raw, limit in files:
        body = {"documents": [{"source": source, "base64": base64.b64encode(raw).decode()}]}
        (status, detail), reads, peak = while_reading(
            server, BOB, tid, lambda body=body: call(server, ADMIN, "POST", "/index/documents", body)
        )
        assert status == 422 and source in detail["detail"] and limit in detail["detail"], (source, detail)
        assert reads and max(reads) < 1.0, (source, max(reads))
        report.append((source, len(raw), len(reads), max(reads), peak - baseline))
        assert peak - baseline < 10 * 20, (source, peak, baseline)  # 10 × the 20 MiB body limit
    with capsys.disabled():
        for source, size, n, worst, grew in report:
            print(
                f"\n{source}: {size} bytes; {n} reads by another key, longest {worst * 1000:.0f} ms; "
                f"server tree RSS +{grew:.0f} MiB over {baseline:.0f} MiB"
            )


def test_a_form_posting_back_the_served_schemas_per_request_defaults_is_accepted(server):
    """Studio and other forms submit every field of the context schema the server serves: its per-request
    fields at their defaults ask for nothing a run without them would not get, so they pass the ceilings
    (max_tokens_per_query=0 among them); deployment fields are marked `kind: deployment` in that schema."""
    assistants = call(server, ALICE, "POST", "/assistants/search", {"graph_id": "ragloop", "limit": 10})[1]
    system = next(a for a in assistants if a["metadata"].get("created_by") == "system")
    schema = call(server, ALICE, "GET", f"/assistants/{system['assistant_id']}/schemas")[1]["context_schema"]
    fields = schema["properties"]
    assert {f["kind"] for f in fields.values()} == {"per-request", "deployment"}
    defaults = {name: f["default"] for name, f in fields.items() if f["kind"] == "per-request" and "default" in f}
    assert defaults["max_tokens_per_query"] == 0 and len(defaults) > 40
    status, out = ask(server, ALICE, {**defaults, "answer_cache_ttl_seconds": 0})
    assert status == 200 and out["answer"], out
