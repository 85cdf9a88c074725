"""Node caching for retrieve and rerank (LangGraph CachePolicy), keyed on what changes their result.

LangGraph's default cache key hashes the node's input only, and the Context is
not part of it: two runs with different `k` or another reranker would share an
entry. So ``intake`` writes a ``cache_scope`` into the state: per node, a hash of
every Context field that changes that node's result, the index version (so a
re-indexed collection misses), and the current ``cache_ttl_seconds`` time bucket
(so an entry serves for at most that long). The key functions here combine it
with the node's real inputs.

The cache itself is whatever the graph is compiled with (``compile_graph(cache=...)``):
LangGraph's ``InMemoryCache`` for the CLI, ``SqliteCache`` or ``RedisCache`` to
share it between processes. Entries are stored for ``STORE_SECONDS`` at most.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path

from langgraph.types import CachePolicy

from ragloop.graph.context import Context

#: The Context fields each cached node's result depends on.
RETRIEVE_FIELDS = ("index_path", "embedding_provider", "nvidia_embedding_model", "bedrock_embedding_model",
                   "k", "bm25_weight", "dense_weight", "rrf_c")
RERANK_FIELDS = (*RETRIEVE_FIELDS, "rerank_provider", "local_reranker", "local_reranker_path",
                 "cross_encoder_candidates", "hybrid_score_bm25_weight", "nvidia_rerank_model",
                 "bedrock_rerank_model_arn", "cohere_rerank_model", "top_n", "medium_docs", "hard_docs", "max_docs")
#: The longest any entry is kept by the cache backend (Context.cache_ttl_seconds may not exceed it).
STORE_SECONDS = 86_400


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:32]


def index_version(ctx: Context) -> str:
    """The published index version the path points at (and its manifest's mtime for plain folders)."""
    path = Path(ctx.index_path).expanduser()
    manifest = path / "manifest.json"
    stamp = manifest.stat().st_mtime_ns if manifest.exists() else 0
    return f"{os.path.realpath(path)}@{stamp}"


def cache_scope(ctx: Context) -> dict[str, str]:
    """Per cached node, the part of its cache key that the state's inputs do not carry."""
    if not ctx.cache_ttl_seconds:
        unique = uuid.uuid4().hex  # caching off: keys no later run can match
        return {"retrieve": unique, "rerank": unique}
    base = {"index": index_version(ctx), "bucket": int(time.time() // ctx.cache_ttl_seconds)}
    return {
        "retrieve": _digest({**base, **{f: getattr(ctx, f) for f in RETRIEVE_FIELDS}}),
        "rerank": _digest({**base, **{f: getattr(ctx, f) for f in RERANK_FIELDS}}),
    }


def _retrieve_key(state: dict) -> str:
    return _digest([state.get("cache_scope", {}).get("retrieve"), state.get("query") or state.get("question")])


def _rerank_key(state: dict) -> str:
    ids = [d.metadata.get("id") for d in state.get("candidates", [])]
    return _digest([state.get("cache_scope", {}).get("rerank"), state.get("query") or state.get("question"), ids,
                    (state.get("budget") or {}).get("docs")])


CACHE_POLICIES = {
    "retrieve": CachePolicy(key_func=_retrieve_key, ttl=STORE_SECONDS),
    "rerank": CachePolicy(key_func=_rerank_key, ttl=STORE_SECONDS),
}
