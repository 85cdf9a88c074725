"""A process-local node cache with a memory budget.

LangGraph's ``InMemoryCache`` drops an expired entry only when that key is read again, so on a long-running
server every distinct question and setting combination stays in memory for good. This one keeps the same
interface and serialisation but holds at most ``max_bytes`` of serialised values: the least recently used
entries go first, and expired ones are swept out at most every `SWEEP_SECONDS` when something is written.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from langgraph.cache.base import BaseCache, FullKey, Namespace, ValueT
from langgraph.checkpoint.serde.base import SerializerProtocol

#: Bookkeeping per entry on top of its serialised bytes (key strings, tuple, dict slot), roughly.
ENTRY_OVERHEAD = 200
SWEEP_SECONDS = 30.0
_LIVE: weakref.WeakSet[BoundedMemoryCache] = weakref.WeakSet()


def held_bytes() -> int:
    """Serialised bytes held by every bounded in-memory cache of this process (what /ragloop/metrics shows)."""
    return sum(cache.size_bytes for cache in list(_LIVE))


class BoundedMemoryCache(BaseCache[ValueT]):
    """Least-recently-used entries beyond `max_bytes` of serialised values are evicted."""

    def __init__(
        self, max_bytes: int, *, serde: SerializerProtocol | None = None, clock: Callable[[], float] = time.time
    ):
        super().__init__(serde=serde)
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[FullKey, tuple[str, bytes, float | None]] = OrderedDict()
        self._bytes = 0
        self._next_sweep = 0.0
        self._lock = threading.Lock()
        _LIVE.add(self)

    @property
    def size_bytes(self) -> int:
        """Serialised bytes held now (with a fixed overhead per entry)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        now = self._clock()
        found: dict[FullKey, tuple[str, bytes, float | None]] = {}
        with self._lock:
            for ns, key in keys:
                full = (Namespace(ns), key)
                entry = self._entries.get(full)
                if entry is None:
                    continue
                if entry[2] is not None and entry[2] <= now:
                    self._drop(full)
                    continue
                self._entries.move_to_end(full)
                found[full] = entry
        # deserialise outside the lock: values may be large
        return {full: self.serde.loads_typed((enc, raw)) for full, (enc, raw, _) in found.items()}

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        return self.get(keys)

    def set(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        now = self._clock()
        encoded = {
            (Namespace(ns), key): (*self.serde.dumps_typed(value), None if ttl is None else now + ttl)
            for (ns, key), (value, ttl) in pairs.items()
        }
        with self._lock:
            for full, entry in encoded.items():
                if full in self._entries:
                    self._drop(full)
                if len(entry[1]) + ENTRY_OVERHEAD > self.max_bytes:
                    continue  # larger than the whole budget: never held
                self._entries[full] = entry
                self._bytes += len(entry[1]) + ENTRY_OVERHEAD
            self._evict(now)

    async def aset(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        self.set(pairs)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        with self._lock:
            if namespaces is None:
                self._entries.clear()
                self._bytes = 0
                return
            dropped = {Namespace(ns) for ns in namespaces}
            for full in [full for full in self._entries if full[0] in dropped]:
                self._drop(full)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self.clear(namespaces)

    def _drop(self, full: FullKey) -> None:
        _, raw, _ = self._entries.pop(full)
        self._bytes -= len(raw) + ENTRY_OVERHEAD

    def _evict(self, now: float) -> None:
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            expired = [full for full, (_, _, expiry) in self._entries.items() if expiry is not None and expiry <= now]
            for full in expired:
                self._drop(full)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))
