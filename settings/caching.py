"""Cache settings: how long cached search results and whole answers serve a repeated question."""

from __future__ import annotations

from dataclasses import dataclass

from ragloop.settings.metadata import NO_CACHE, setting

#: The longest any entry is kept by the cache backend.
STORE_SECONDS = 86_400


@dataclass(kw_only=True)
class CacheSettings:
    cache_ttl_seconds: int = setting(
        3600,
        "How long a cached retrieve or rerank result serves a repeated query with the same settings and index "
        "(0 = no cache hits). Needs a graph compiled with a cache (RAGLOOP_CACHE_URL: memory, sqlite:////abs/path "
        "or redis://…).",
        ge=0,
        le=STORE_SECONDS,
        invalidates=NO_CACHE,
    )
    answer_cache_ttl_seconds: int = setting(
        3600,
        "How long a finished answer serves the same question asked again with the same settings and index, "
        "with no model call (0 = off). Follow-ups in a thread and answers a fallback provider gave are never "
        "cached.",
        ge=0,
        le=STORE_SECONDS,
        invalidates=NO_CACHE,
    )
