"""A node's result through the graph's cache, under a key the node computes from its run.

LangGraph's own ``CachePolicy`` keys an entry by a function of the node's input alone, that is, of state a
client could have written, and cannot see the run (its authenticated tenant, its Context). So the cached
nodes look their results up themselves, under keys from persistence/cache_keys.py. A cache read or write runs
on a worker thread in an async run: LangGraph's Redis and SQLite caches block in their async methods too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langgraph.cache.base import BaseCache

from ragloop.persistence.cache_keys import NODES
from ragloop.providers.calls import off_loop
from ragloop.settings import STORE_SECONDS


async def through_cache(
    cache: BaseCache | None,
    node: str,
    key: Callable[[], str] | None,
    compute: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """The node's update: from the cache under `key()` when an entry is there, else computed and stored.
    `key` None (or no cache) computes it without the cache. `node_runs` records which it was."""
    if cache is None or key is None:
        return {**await compute(), "node_runs": [(node, "miss")]}

    def read() -> tuple[tuple, Any]:  # the key reads the index's version (a file, or Milvus), then the cache
        entry = (NODES[node], key())
        return entry, cache.get([entry]).get(entry)

    entry, found = await off_loop(read)
    if found is not None:
        return {**found, "node_runs": [(node, "hit")]}
    update = await compute()
    await off_loop(cache.set, {entry: (update, STORE_SECONDS)})
    return {**update, "node_runs": [(node, "miss")]}
