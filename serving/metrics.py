"""Prometheus metrics of the graph, recorded by an observer of the graph's instrumentation (graph/instrument.py).

Importing ``ragloop.serving`` registers the observer (serving/__init__.py), so a LangGraph
server that loads the auth handler or the custom routes records every run. Counters and histograms live in one registry that ``/ragloop/metrics`` (serving/app.py)
exposes. Nothing here is needed to run the graph: without ``prometheus_client``
(the ``server`` extra) recording is a no-op. A finished run's tokens are also
added to its API key's daily count (serving/limits.py), which the auth handler's
daily budget reads.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ragloop.graph.instrument import add_observer
from ragloop.logic.budget import count
from ragloop.persistence.memory_cache import held_bytes
from ragloop.serving.limits import limits
from ragloop.settings import MAX_REWRITES_CEILING


@lru_cache(maxsize=1)
def registry():
    """(registry, metrics by name), or None without prometheus_client."""
    try:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
    except ImportError:
        return None
    reg = CollectorRegistry()
    seconds = (0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
    return reg, {
        "runs": Counter("ragloop_runs", "Questions answered, by stop reason.", ["stop_reason"], registry=reg),
        "node_seconds": Histogram(
            "ragloop_node_seconds", "Wall time per node run.", ["node"], buckets=seconds, registry=reg
        ),
        "errors": Counter(
            "ragloop_node_errors", "Node runs that raised, by node and error type.", ["node", "error"], registry=reg
        ),
        "tokens": Counter(
            "ragloop_tokens",
            "Model tokens, by model and kind (input, output, cache_read, cache_write).",
            ["model", "kind"],
            registry=reg,
        ),
        "cost": Counter("ragloop_cost_usd", "Estimated cost in USD.", registry=reg),
        "difficulty": Counter("ragloop_difficulty", "Questions by difficulty level.", ["level"], registry=reg),
        "rewrites": Counter("ragloop_rewrites", "Query rewrites.", registry=reg),
        "fallbacks": Counter(
            "ragloop_fallbacks", "Chat calls answered by the fallback provider.", ["node"], registry=reg
        ),
        "retries": Counter("ragloop_retries", "Node attempts added by the retry policy.", ["node"], registry=reg),
        "cache": Counter(
            "ragloop_cache",
            "Cache look-ups by what is cached (answer, retrieve, rerank) and result (hit, miss).",
            ["cache", "result"],
            registry=reg,
        ),
        "degraded": Counter("ragloop_budget_cuts", "Calls skipped to stay within max_tokens_per_query.", registry=reg),
        "cache_bytes": _gauge(
            Gauge(
                "ragloop_node_cache_bytes",
                "Serialised bytes in the in-process node cache (at most RAGLOOP_CACHE_MAX_MIB).",
                registry=reg,
            ),
            held_bytes,
        ),
    }


def _gauge(gauge, read):
    """A gauge whose value is read when it is scraped."""
    gauge.set_function(read)
    return gauge


def observe_node(node: str, seconds: float, error: BaseException | None = None) -> None:
    found = registry()
    if found is None:
        return
    _, m = found
    m["node_seconds"].labels(node).observe(seconds)
    if error is not None:
        m["errors"].labels(node, type(error).__name__).inc()


#: The most distinct values one label takes; later ones are counted as "other". A run's report is made from
#: its state, which a client could have written: its labels must not grow the registry without bound.
MAX_LABEL_VALUES = 64
_labels: dict[str, set[str]] = {}


def _label(kind: str, value: object) -> str:
    seen = _labels.setdefault(kind, set())
    text = str(value)[:80]
    if text not in seen and len(seen) >= MAX_LABEL_VALUES:
        return "other"
    seen.add(text)
    return text


def _amount(value: object) -> float:
    """A count from the report: a non-negative finite number, else 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        return 0.0
    return float(value)


def observe_run(state: dict, report: dict, identity: str | None, run_id: str | None = None) -> None:
    """Record a finished run: its state at `finish` plus what `finish` added. Its tokens replace what the run
    reserved of its key's daily budget when it was created (serving/auth.py)."""
    compute: dict[str, Any] = report["compute"] if isinstance(report.get("compute"), dict) else {}
    if identity:
        limits().settle(identity, run_id, int(_amount(compute.get("tokens"))))
    found = registry()
    if found is None:
        return
    _, m = found
    m["runs"].labels(_label("stop_reason", compute.get("stop_reason", "unknown"))).inc()
    m["cost"].inc(_amount(report.get("cost_usd")))
    level = (state.get("difficulty") or {}).get("level")
    if level:
        m["difficulty"].labels(_label("level", level)).inc()
    m["rewrites"].inc(count(state.get("rewrites"), 0, MAX_REWRITES_CEILING))  # the state's, so held to its bounds
    m["degraded"].inc(len(compute.get("degraded") or []))
    for node, n in _pairs(compute.get("fallbacks")):
        m["fallbacks"].labels(_label("node", node)).inc(_amount(n))
    for cache, counts in _pairs(compute.get("cache")):
        if not isinstance(counts, dict):
            continue
        for result, n in (("hit", counts.get("hits", 0)), ("miss", counts.get("misses", 0))):
            if _amount(n):
                m["cache"].labels(_label("cache", cache), result).inc(_amount(n))
    for node, n in _pairs(compute.get("retries")):
        m["retries"].labels(_label("node", node)).inc(_amount(n))
    for model, counts in _pairs(state.get("usage_by_model")):
        if not isinstance(counts, dict):
            continue
        for kind in ("input", "output", "cache_read", "cache_write"):
            if _amount(counts.get(f"{kind}_tokens")):
                m["tokens"].labels(_label("model", model), kind).inc(_amount(counts[f"{kind}_tokens"]))


def _pairs(value: object) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in value.items() if v is not None] if isinstance(value, dict) else []


def exposition() -> tuple[bytes, str]:
    """(body, content type) for GET /ragloop/metrics."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    found = registry()
    return (generate_latest(found[0]) if found else b""), CONTENT_TYPE_LATEST


class MetricsObserver:
    """What the graph's instrumentation tells: recorded as Prometheus metrics and per-key token counts."""

    def node_finished(self, node: str, seconds: float, error: BaseException | None) -> None:
        observe_node(node, seconds, error)

    def run_finished(self, state: dict, update: dict, identity: str | None, run_id: str | None) -> None:
        observe_run(state, update, identity, run_id)


OBSERVER = MetricsObserver()


def register() -> None:
    """Record every node and run of this process's graphs (idempotent)."""
    add_observer(OBSERVER)
