"""The chat page in a real browser: headless Chromium (Debian's `chromium`) against a real `langgraph dev` on a
free loopback port, with SmolLM2-135M answering. A user enters a key, uploads documents, asks, watches the
answer being written, reads its sources and what it cost; a document's markup stays text."""

from __future__ import annotations

import json
import os
import shutil
import time
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path

import pytest

from ragloop.serving.devserver import dev_server

pytestmark = pytest.mark.integration
KEY = "page-key-7d1e"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "chat"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Where the page's screenshot goes: the README's is refreshed with
#: RAGLOOP_CHAT_SCREENSHOT=docs/images/chat-page.png .venv/bin/python -m pytest tests/integration/test_chat_page.py
SCREENSHOT_ENV = "RAGLOOP_CHAT_SCREENSHOT"


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_index):
    index = tmp_path_factory.mktemp("page") / "index"
    shutil.copytree(demo_index, index)
    settings = {
        "index_path": str(index),
        "tenancy": "per-key",  # the key indexes its own documents: the page's upload is allowed
        "local_chat_model": "smollm2-135m",
        "local_n_ctx": 4096,
    }
    env = {"RAGLOOP_API_KEYS": KEY, "RAGLOOP_SETTINGS": json.dumps(settings)}
    with dev_server(tmp_path_factory.mktemp("page-log") / "server.log", env=env) as url:
        from langgraph_sdk import get_sync_client

        # An assistant with one streamed sample per question (the answer is written, not the easy path's
        # draft) and no answer cache: the page offers it beside the default one.
        get_sync_client(url=url, api_key=KEY).assistants.create(
            "ragloop", context={"difficulty_estimator": "fixed", "answer_cache_ttl_seconds": 0}, name="written"
        )
        yield url


@contextmanager
def browser_page(url: str):
    """A headless Chromium page at the chat page; every dialog it raises is recorded in `page.dialogs`."""
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        # The page's Content-Security-Policy is bypassed for the test's own probes; so the escaping is tested
        # alone, without the policy that would also stop an injected script (checked on its own below).
        context = browser.new_context(viewport={"width": 1100, "height": 900}, bypass_csp=True)
        page = context.new_page()
        page.dialogs = []  # every alert/confirm the page raised
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(url + "/ragloop/chat")
        yield page
        browser.close()


@pytest.fixture
def page(server):
    with browser_page(server) as page:
        yield page


def enter_key(page, key: str = KEY) -> None:
    page.fill("#key", key)
    page.press("#key", "Enter")
    if key == KEY:
        page.wait_for_selector("#app:not([hidden])")
        page.select_option("#assistant", label="written")


def upload(page, *files: Path) -> None:
    page.set_input_files("#files", [str(f) for f in files])
    page.click("#upload button[type=submit]")
    page.wait_for_function(
        "document.querySelector('#upload-status').textContent.includes('done')"
        " || !document.querySelector('#error').hidden",
        timeout=180_000,
    )
    assert page.is_hidden("#error"), page.text_content("#error")
    for f in files:  # the documents list shows them once the job is done
        page.wait_for_selector(f"#sources li:has-text('{f.name}')", timeout=30_000)


def ask(page, question: str) -> list[str]:
    """Ask, and read the answer's text every 20 ms while it is being written; the texts seen."""
    page.fill("#question", question)
    page.press("#question", "Enter")
    seen: list[str] = []
    deadline = time.monotonic() + 300
    page.wait_for_selector(".turn:last-child .answer .text.writing", timeout=30_000)
    while time.monotonic() < deadline:
        writing = page.query_selector(".turn:last-child .answer .text.writing")
        if writing is None:
            break
        text = writing.text_content() or ""
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        page.wait_for_timeout(20)
    page.wait_for_selector(".turn:last-child .answer .cost", timeout=300_000)
    return seen


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory, demo_index):
    """A server that lets a key make 3 requests a minute."""
    settings = {"index_path": str(demo_index), "local_chat_model": "smollm2-135m", "local_n_ctx": 4096}
    env = {"RAGLOOP_API_KEYS": KEY, "RAGLOOP_SETTINGS": json.dumps(settings), "RAGLOOP_REQUESTS_PER_MINUTE": "3"}
    with dev_server(tmp_path_factory.mktemp("strict-log") / "server.log", env=env) as url:
        yield url


def thread_citations(server: str, page) -> list[dict]:
    from langgraph_sdk import get_sync_client

    thread = page.evaluate("sessionStorage.getItem('ragloop.thread')")
    state = get_sync_client(url=server, api_key=KEY).threads.get_state(thread)
    return state["values"]["citations"]


def test_a_wrong_key_is_told_in_a_sentence(page):
    enter_key(page, "not-a-key")
    page.wait_for_selector("#error:not([hidden])")
    assert "did not accept this API key" in page.text_content("#error")
    assert page.is_visible("#login") and page.evaluate("sessionStorage.getItem('ragloop.key')") is None


def test_too_many_requests_is_told_with_the_wait_and_the_key_stands(strict_server):
    with browser_page(strict_server) as page:
        page.fill("#key", KEY)
        page.press("#key", "Enter")  # the page's first three calls use the minute's three requests
        page.wait_for_selector("#app:not([hidden])")
        page.fill("#question", "Where is Normandy?")
        page.press("#question", "Enter")
        page.wait_for_selector("#error:not([hidden])")
        assert "Too many requests for this API key" in page.text_content("#error")
        assert "Try again in 5 s." in page.text_content("#error")
        assert page.evaluate("sessionStorage.getItem('ragloop.key')") == KEY


def test_upload_ask_and_watch_the_answer_arrive_with_its_sources_and_cost(server, page, tmp_path):
    enter_key(page)
    upload(page, FIXTURES / "lighthouse.md")

    seen = ask(page, "Who built the Skerry Light lighthouse, in which year, and what is its tower made of?")
    assert len(seen) >= 2 and all(later.startswith(earlier) for earlier, later in pairwise(seen)), seen
    answer = page.text_content(".turn:last-child .answer .text")
    assert answer.startswith(seen[-1].strip()[:20])  # the written text became the finished answer

    citations = thread_citations(server, page)
    cards = page.query_selector_all(".turn:last-child .source .head")
    assert [c.text_content() for c in cards] == [f"[{c['n']}] {c['title'] or c['source']}" for c in citations]
    assert any(c["source"] == "lighthouse.md" for c in citations)
    cost = page.text_content(".turn:last-child .cost")
    assert "difficulty medium" in cost and "tokens" in cost and "cost $" in cost and "stopped" in cost
    assert page.query_selector_all(".turn:last-child .timeline li")  # the run's steps, as they finished
    side = page.evaluate("[document.querySelector('#side').scrollWidth, document.querySelector('#side').clientWidth]")
    assert side[0] <= side[1], side  # nothing in the sidebar wider than it
    page.screenshot(path=os.environ.get(SCREENSHOT_ENV) or str(tmp_path / "chat-page.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_documents_markup_renders_as_text(server, page):
    enter_key(page)
    upload(page, FIXTURES / "untrusted.txt")
    ask(page, "What is the vault door code?")
    quoted = " ".join(q.text_content() for q in page.query_selector_all(".turn:last-child .source blockquote"))
    assert "<script>alert('script')</script>" in quoted and "<img src=x" in quoted
    assert page.dialogs == []  # no handler, no script, no javascript: link ran
    assert page.query_selector(".answer img, .source img, .answer script, .source script") is None
    assert page.query_selector("a[href^='javascript:']") is None


def test_the_page_is_served_with_a_policy_that_runs_only_its_own_script(server):
    import urllib.request

    with urllib.request.urlopen(server + "/ragloop/chat", timeout=30) as response:
        policy = response.headers["content-security-policy"]
        size = len(response.read())
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "default-src 'none'" in policy
    assert size < 10_000
    for elsewhere in ("app.py", "..%2Fapp.py", "../app.py"):  # the page's three files, nothing else
        with pytest.raises(urllib.error.HTTPError, match="40[14]"):
            urllib.request.urlopen(f"{server}/ragloop/chat/{elsewhere}", timeout=30)
