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


def observe_run(state: dict, report: dict, identity: str | None, run_id: str | None = None) -> None:
    """Record a finished run: its state at `finish` plus what `finish` added. Its tokens replace what the run
    reserved of its key's daily budget when it was created (serving/auth.py)."""
    tokens = int((report.get("compute") or {}).get("tokens", 0))
    if identity:
        limits().settle(identity, run_id, tokens)
    found = registry()
    if found is None:
        return
    _, m = found
    compute = report.get("compute") or {}
    m["runs"].labels(compute.get("stop_reason", "unknown")).inc()
    m["cost"].inc(float(report.get("cost_usd") or 0.0))
    level = (state.get("difficulty") or {}).get("level")
    if level:
        m["difficulty"].labels(level).inc()
    m["rewrites"].inc(count(state.get("rewrites"), 0, MAX_REWRITES_CEILING))  # the state's, so held to its bounds
    m["degraded"].inc(len(compute.get("degraded") or []))
    for node, n in (compute.get("fallbacks") or {}).items():
        m["fallbacks"].labels(node).inc(n)
    for cache, counts in (compute.get("cache") or {}).items():
        for result, n in (("hit", counts.get("hits", 0)), ("miss", counts.get("misses", 0))):
            if n:
                m["cache"].labels(cache, result).inc(n)
    for node, n in (compute.get("retries") or {}).items():
        m["retries"].labels(node).inc(n)
    for model, counts in (state.get("usage_by_model") or {}).items():
        for kind in ("input", "output", "cache_read", "cache_write"):
            if counts.get(f"{kind}_tokens"):
                m["tokens"].labels(model, kind).inc(counts[f"{kind}_tokens"])


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
