"""Where the graph keeps what outlives a run: its cache and its conversation threads.

Both are deployment settings, not per-run tunables, so they come from the
environment (or the caller), never from the Context:

``RAGLOOP_CACHE_URL`` (node results and answers, persistence/cache_keys.py):
    ``memory`` (default: this process only, at most ``RAGLOOP_CACHE_MAX_MIB`` of cached values, 256 by
    default, least recently used first out), ``sqlite:////var/lib/ragloop/cache.sqlite``
    (survives restarts; one machine), ``redis://host:6379/0`` (shared by replicas; bound it with Redis's
    own ``maxmemory`` and an LRU policy).

``RAGLOOP_THREADS_URL`` (the CLI's checkpointer for ``ragloop ask --thread``):
    ``sqlite:////abs/path/threads.sqlite`` (default: $RAGLOOP_HOME/threads.sqlite) or
    ``postgresql://user:pass@host:5432/db``. A LangGraph server brings its own.

SQLite locations follow SQLAlchemy's convention: ``sqlite:///relative/file.sqlite``
(from the working directory), ``sqlite:////absolute/file.sqlite`` (four slashes).

Opening a backend touches no network: Redis and PostgreSQL connect on first use.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from ragloop.errors import ConfigError

CACHE_ENV = "RAGLOOP_CACHE_URL"
CACHE_MAX_MIB_ENV = "RAGLOOP_CACHE_MAX_MIB"
THREADS_ENV = "RAGLOOP_THREADS_URL"


def _sqlite_path(url: str, env: str) -> Path:
    written = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    if not written:
        raise ConfigError(
            f"{env}={url!r}: a SQLite location is written sqlite:////absolute/file.sqlite "
            "(or sqlite:///relative/file.sqlite)."
        )
    path = Path(written).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{env}: cannot create {path.parent}: {exc.strerror}.") from exc
    return path


def open_cache(url: str | None = None):
    """The cache a graph is compiled with (``compile_graph(cache=...)``), from a URL or $RAGLOOP_CACHE_URL."""
    url = (url if url is not None else os.environ.get(CACHE_ENV, "")).strip() or "memory"
    scheme = urlsplit(url).scheme
    if url == "memory":
        from ragloop.persistence.memory_cache import BoundedMemoryCache

        return BoundedMemoryCache(_cache_max_mib() * 2**20)
    if scheme == "sqlite":
        from langgraph.cache.sqlite import SqliteCache

        return SqliteCache(path=str(_sqlite_path(url, CACHE_ENV)))
    if scheme in ("redis", "rediss", "unix"):
        try:
            import redis
        except ImportError as exc:
            raise ConfigError(f"{CACHE_ENV}={url!r} needs the redis client: pip install 'ragloop[server]'.") from exc
        from langgraph.cache.redis import RedisCache

        return RedisCache(redis.Redis.from_url(url), prefix="ragloop:")
    raise ConfigError(f"{CACHE_ENV}={url!r} is not a cache: use memory, sqlite:///path or redis://host:port/db.")


def _cache_max_mib() -> int:
    raw = os.environ.get(CACHE_MAX_MIB_ENV, "").strip() or "256"
    try:
        mib = int(raw)
    except ValueError:
        mib = -1
    if not 1 <= mib <= 1_048_576:
        raise ConfigError(f"{CACHE_MAX_MIB_ENV}={raw!r}: give the in-memory cache's size in MiB, 1 to 1048576.")
    return mib


def threads_url() -> str:
    from ragloop.settings import ragloop_home

    default = f"sqlite:///{Path(ragloop_home()).expanduser() / 'threads.sqlite'}"
    return os.environ.get(THREADS_ENV, "").strip() or default


@contextmanager
def open_checkpointer(url: str | None = None) -> Iterator[object]:
    """A checkpointer for conversation threads, from a URL or $RAGLOOP_THREADS_URL; closed on exit."""
    url = url or threads_url()
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        import sqlite3

        from langgraph.checkpoint.sqlite import SqliteSaver

        with closing(sqlite3.connect(_sqlite_path(url, THREADS_ENV), check_same_thread=False)) as conn:
            yield SqliteSaver(conn)
        return
    if scheme in ("postgres", "postgresql"):
        try:
            from langgraph.checkpoint.postgres import PostgresSaver
        except ImportError as exc:
            raise ConfigError(
                f"{THREADS_ENV} names PostgreSQL, which needs langgraph-checkpoint-postgres: "
                "pip install 'ragloop[server]'."
            ) from exc
        import psycopg

        with ExitStack() as stack:
            try:
                saver = stack.enter_context(PostgresSaver.from_conn_string(url))
            except psycopg.OperationalError as exc:
                host = urlsplit(url).hostname
                raise ConfigError(f"{THREADS_ENV}: cannot reach PostgreSQL at {host}: {str(exc).strip()}") from exc
            saver.setup()  # creates or migrates the checkpoint tables; idempotent
            yield saver
        return
    raise ConfigError(f"{THREADS_ENV}={url!r} is not a checkpointer: use sqlite:///path or postgresql://…")
