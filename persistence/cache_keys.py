"""Caching: retrieve and rerank results (LangGraph CachePolicy) and whole answers, keyed on what changes them.

LangGraph's default cache key hashes the node's input only, and the Context is
not part of it: two runs with different `k` or another reranker would share an
entry. So ``intake`` writes a ``cache_scope`` into the state: per node, a hash of
every Context field that changes that node's result, the index version (so a
re-indexed collection misses), and the current ``cache_ttl_seconds`` time bucket
(so an entry serves for at most that long). The key functions here combine it
with the node's real inputs.

A repeated question with identical settings is answered from the answer cache
(nodes/answer_cache.py) under ``answer_key``: the question, every Context field
whose metadata says it shapes the answer, the index version and the
prompts' fingerprint (so a release with other prompts does not serve old answers).

The cache itself is whatever the graph is compiled with (``compile_graph(cache=...)``),
chosen by $RAGLOOP_CACHE_URL (persistence/backends.py): a bounded in-memory cache (memory_cache.py),
``SqliteCache`` or ``RedisCache``. Node entries are stored for ``STORE_SECONDS`` at most.

Whether a node's result came from the cache is told by the run id it was computed
in (``node_runs``): LangGraph replays a cached node's writes without calling it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import pkgutil
import time
import uuid

from langgraph.types import CachePolicy

from ragloop.logic.tenancy import scoped
from ragloop.retrieval.store import index_version
from ragloop.settings import STORE_SECONDS, Context, fields_invalidating

#: The Context fields each cached node's result depends on, and those an answer does (settings/metadata.py).
RETRIEVE_FIELDS = fields_invalidating("retrieve")
RERANK_FIELDS = fields_invalidating("rerank")
ANSWER_FIELDS = fields_invalidating("answer")
#: The cache namespace of answers.
ANSWERS = ("ragloop", "answers")


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:32]


@functools.cache
def prompts_fingerprint() -> str:
    """Hash of every prompt template's text: answers written under other prompts are not the same answers."""
    from langchain_core.prompts import ChatPromptTemplate

    from ragloop import prompts

    texts = []
    for info in sorted(pkgutil.iter_modules(prompts.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{prompts.__name__}.{info.name}")
        texts += [
            f"{info.name}.{name}\n{value.pretty_repr()}"
            for name, value in sorted(vars(module).items())
            if isinstance(value, ChatPromptTemplate)
        ]
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]


def cache_scope(ctx: Context) -> dict[str, str]:
    """Per cached node, the part of its cache key that the state's inputs do not carry."""
    run = uuid.uuid4().hex
    if not ctx.cache_ttl_seconds:
        return {"retrieve": run, "rerank": run, "run": run}  # caching off: keys no later run can match
    base = {"index": index_version(ctx), "bucket": int(time.time() // ctx.cache_ttl_seconds)}
    return {
        "retrieve": _digest({**base, **{f: getattr(ctx, f) for f in RETRIEVE_FIELDS}}),
        "rerank": _digest({**base, **{f: getattr(ctx, f) for f in RERANK_FIELDS}}),
        "run": run,
    }


def answer_key(question: str, ctx: Context, where: dict | None = None) -> str:
    """The answer cache's key: the question (whitespace and case folded) under every setting and prompt that shapes it."""
    settings = {name: getattr(ctx, name) for name in ANSWER_FIELDS}
    asked = " ".join(question.split()).casefold()
    return _digest([asked, index_version(ctx), prompts_fingerprint(), settings, *([where] if where else [])])


def cache_report(state: dict) -> dict[str, dict[str, int]]:
    """Per cached node, how many of its runs the cache served (hits) and how many it computed (misses)."""
    run = (state.get("cache_scope") or {}).get("run")
    report: dict[str, dict[str, int]] = {}
    for node, computed_in in state.get("node_runs") or []:
        counts = report.setdefault(node, {"hits": 0, "misses": 0})
        counts["misses" if computed_in == run else "hits"] += 1
    return report


def _retrieve_key(state: dict) -> str:
    scope = state.get("cache_scope", {}).get("retrieve")
    where = scoped(state.get("filter"), state.get("tenant")) or {}  # the search's filter, as retrieve passes it
    return _digest([scope, state.get("query") or state.get("question"), where])


def _rerank_key(state: dict) -> str:
    ids = [d.metadata.get("id") for d in state.get("candidates", [])]
    return _digest(
        [
            state.get("cache_scope", {}).get("rerank"),
            state.get("query") or state.get("question"),
            ids,
            (state.get("budget") or {}).get("docs"),
        ]
    )


CACHE_POLICIES = {
    "retrieve": CachePolicy(key_func=_retrieve_key, ttl=STORE_SECONDS),
    "rerank": CachePolicy(key_func=_rerank_key, ttl=STORE_SECONDS),
}
