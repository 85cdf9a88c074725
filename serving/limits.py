"""Per-key counters behind the auth handler: requests per minute and model tokens per UTC day.

In memory by default, so each server process counts its own. With ``RAGLOOP_LIMITS_URL=redis://…``
every replica counts in one Redis, so the limits hold for the service as a whole. If that Redis
cannot be reached the counters fail open (requests are served, a warning is logged): a cache
outage should not become a service outage.
"""

from __future__ import annotations

import datetime
import logging
import os
import threading
import time
from functools import lru_cache

from ragloop.errors import ConfigError

LIMITS_ENV = "RAGLOOP_LIMITS_URL"
log = logging.getLogger(__name__)


def today() -> str:
    return datetime.datetime.now(datetime.UTC).date().isoformat()


class MemoryLimits:
    """This process's counters: a token bucket per key (bursts up to the per-minute rate), tokens per day,
    and the tokens each run in flight has reserved."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # identity -> (requests left, last refill)
        self._tokens: dict[tuple[str, str], int] = {}
        self._reserved: dict[str, int] = {}  # run id -> tokens reserved when it was created
        self._lock = threading.Lock()

    def try_reserve(self, identity: str, run: str, budget: int, tokens: int) -> int:
        """Reserve up to `tokens` of today's `budget` for a run; the tokens reserved (0: the budget is spent)."""
        with self._lock:
            key = (identity, today())
            granted = max(0, min(tokens, budget - self._tokens.get(key, 0)))
            if granted:
                self._tokens[key] = self._tokens.get(key, 0) + granted
                self._reserved[run] = granted
            return granted

    def settle(self, identity: str, run: str | None, tokens: int) -> None:
        """A run's real spend replaces its reservation (a run that never settles keeps it charged)."""
        with self._lock:
            reserved = self._reserved.pop(run, 0) if run else 0
            key = (identity, today())
            self._tokens[key] = self._tokens.get(key, 0) + tokens - reserved

    def allow_request(self, identity: str, per_minute: float) -> bool:
        now = time.monotonic()
        with self._lock:
            left, last = self._buckets.get(identity, (per_minute, now))
            left = min(per_minute, left + (now - last) * per_minute / 60.0)
            allowed = left >= 1.0
            self._buckets[identity] = (left - 1.0 if allowed else left, now)
        return allowed

    def add_tokens(self, identity: str, tokens: int) -> None:
        with self._lock:
            key = (identity, today())
            self._tokens[key] = self._tokens.get(key, 0) + tokens

    def tokens_today(self, identity: str) -> int:
        with self._lock:
            return self._tokens.get((identity, today()), 0)


class RedisLimits:
    """Counters every replica shares: requests in the current clock minute, tokens in the current UTC day."""

    def __init__(self, client, prefix: str = "ragloop:limits:") -> None:
        self.redis, self.prefix = client, prefix

    def _fail_open(self, exc: Exception, what: str) -> None:
        log.warning("ragloop limits: Redis unreachable (%s); %s not enforced", type(exc).__name__, what)

    def allow_request(self, identity: str, per_minute: float) -> bool:
        key = f"{self.prefix}requests:{identity}:{int(time.time() // 60)}"
        try:
            count, _ = self.redis.pipeline().incr(key).expire(key, 120).execute()
        except Exception as exc:  # redis.exceptions.RedisError and socket errors
            self._fail_open(exc, "the request rate")
            return True
        return count <= per_minute

    def try_reserve(self, identity: str, run: str, budget: int, tokens: int) -> int:
        key = f"{self.prefix}tokens:{identity}:{today()}"
        try:
            total = int(self.redis.incrby(key, tokens))  # atomic: concurrent runs see each other's reservations
            over = total - budget
            granted = tokens if over <= 0 else max(0, tokens - over)
            if granted < tokens:
                self.redis.decrby(key, tokens - granted)
            if granted:
                self.redis.pipeline().expire(key, 2 * 86_400).set(
                    f"{self.prefix}reserved:{run}", granted, ex=2 * 86_400
                ).execute()
            return granted
        except Exception as exc:
            self._fail_open(exc, "the daily token budget")
            return tokens

    def settle(self, identity: str, run: str | None, tokens: int) -> None:
        try:
            reserved = int(self.redis.getdel(f"{self.prefix}reserved:{run}") or 0) if run else 0
        except Exception as exc:
            self._fail_open(exc, "the daily token budget")
            reserved = 0
        self.add_tokens(identity, tokens - reserved)

    def add_tokens(self, identity: str, tokens: int) -> None:
        key = f"{self.prefix}tokens:{identity}:{today()}"
        try:
            self.redis.pipeline().incrby(key, tokens).expire(key, 2 * 86_400).execute()
        except Exception as exc:
            self._fail_open(exc, "the daily token budget")

    def tokens_today(self, identity: str) -> int:
        try:
            return int(self.redis.get(f"{self.prefix}tokens:{identity}:{today()}") or 0)
        except Exception as exc:
            self._fail_open(exc, "the daily token budget")
            return 0


@lru_cache(maxsize=1)
def limits() -> MemoryLimits | RedisLimits:
    """The process's counters, from $RAGLOOP_LIMITS_URL (empty: in memory)."""
    url = os.environ.get(LIMITS_ENV, "").strip()
    if not url:
        return MemoryLimits()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{LIMITS_ENV}={url!r}: give a Redis URL (redis://host:6379/2) or leave it unset.")
    try:
        import redis
    except ImportError as exc:
        raise ConfigError(f"{LIMITS_ENV} needs the redis client: pip install 'ragloop[server]'.") from exc
    return RedisLimits(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2))
