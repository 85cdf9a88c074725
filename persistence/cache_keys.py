"""Caching: retrieve and rerank results and whole answers, keyed on what changes them and on nothing a
client could have written.

Every key is computed where it is used, from the run's validated Context (the fields whose metadata says
they change that result, settings/metadata.py), the index version, the ``cache_ttl_seconds`` time bucket
(so an entry serves for at most that long), the tenant the server authenticated (logic/trust.py) and the
node's real inputs. A state a client wrote can make its own run miss, never read or fill another key's
entry: a retrieve key holds the run's tenant, a rerank key every candidate's text and metadata, and an
answer is stored only by a run whose state its own ``intake`` derived (nodes/answer_cache.py).

The cache itself is whatever the graph is built with (``compile_graph(cache=...)``), chosen by
$RAGLOOP_CACHE_URL (persistence/backends.py): a bounded in-memory cache (memory_cache.py), ``SqliteCache``
or ``RedisCache``. Node entries are stored for ``STORE_SECONDS`` at most. Whether a node's result came from
the cache is recorded in ``node_runs`` as (node, "hit" | "miss").
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import pkgutil
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.documents import Document

from ragloop.logic.trust import searched
from ragloop.retrieval.store import index_version
from ragloop.settings import Context, fields_invalidating

#: The Context fields each cached node's result depends on, and those an answer does (settings/metadata.py).
RETRIEVE_FIELDS = fields_invalidating("retrieve")
RERANK_FIELDS = fields_invalidating("rerank")
ANSWER_FIELDS = fields_invalidating("answer")
#: The cache namespaces of answers and of each cached node's results.
ANSWERS = ("ragloop", "answers")
NODES = {"retrieve": ("ragloop", "retrieve"), "rerank": ("ragloop", "rerank")}


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


def _scope(ctx: Context, names: Sequence[str]) -> list[Any]:
    """What every key of a node's cache holds: the index version, the time bucket and the settings."""
    return [index_version(ctx), int(time.time() // ctx.cache_ttl_seconds), {f: getattr(ctx, f) for f in names}]


def retrieve_key(query: str, where: dict[str, Any] | None, ctx: Context) -> str:
    """The retrieve cache's key for a search of `query` under `where` (already narrowed to the run's tenant)."""
    return _digest([*_scope(ctx, RETRIEVE_FIELDS), query, where or {}])


def rerank_key(query: str, candidates: Sequence[Document], keep: int, ctx: Context) -> str:
    """The rerank cache's key: the query, every candidate whole (text and metadata) and how many are kept."""
    docs = [[d.page_content, d.metadata] for d in candidates]
    return _digest([*_scope(ctx, RERANK_FIELDS), query, docs, keep])


def answer_key(question: str, ctx: Context, where: dict | None = None) -> str:
    """The answer cache's key: the question (whitespace and case folded) under every setting and prompt that shapes it."""
    settings = {name: getattr(ctx, name) for name in ANSWER_FIELDS}
    asked = " ".join(question.split()).casefold()
    return _digest([asked, index_version(ctx), prompts_fingerprint(), settings, *([where] if where else [])])


def run_answer_key(state: dict, ctx: Context) -> str:
    """This run's answer key: its question and the client's filter narrowed to the run's own tenant."""
    return answer_key(state["question"], ctx, searched(state.get("filter"), ctx.tenancy))


def cache_report(state: dict) -> dict[str, dict[str, int]]:
    """Per cached node, how many of its runs the cache served (hits) and how many it computed (misses)."""
    report: dict[str, dict[str, int]] = {}
    for node, result in state.get("node_runs") or []:
        counts = report.setdefault(node, {"hits": 0, "misses": 0})
        counts["hits" if result == "hit" else "misses"] += 1
    return report
