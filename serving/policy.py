"""What a client of the shared server may ask for: per-request settings, within the operator's ceilings.

Every setting is declared per-request or deployment on its field (settings/metadata.py). On the server a
run, assistant or cron whose ``context`` or ``config.configurable`` sets a deployment setting (a path, URL,
endpoint, profile, model file, price table, thread count, timeout…) is refused before anything runs: those
are the operator's, set in the server's environment. A per-request setting is checked as the graph would
(type, bounds, choices) and against the operator's ceilings, so one request cannot buy unbounded work.

Ceilings: ``RAGLOOP_CEILINGS`` is a JSON object of setting → largest value a request may set; it replaces
the defaults below key by key (``{"k": 200}`` raises k's ceiling and keeps the others). A value over its
ceiling is refused (HTTP 422) with the setting, the value and the ceiling named; nothing is clamped
silently. For ``max_tokens_per_query``, 0 (no budget) counts as over any ceiling, unless it is the server's
default: a setting sent at the server's default value (a form posting back the served schema's defaults)
asks for nothing a run that leaves it out would not get, and passes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ragloop.errors import ConfigError
from ragloop.settings import LEVELS, Context, deployment_fields, setting_name

CEILINGS_ENV = "RAGLOOP_CEILINGS"

#: What one request may ask for when the operator says nothing: the shipped caps, a little headroom.
DEFAULT_CEILINGS: dict[str, float] = {
    "k": 100,
    "top_n": 20,
    "cross_encoder_candidates": 45,
    "difficulty_passages": 10,
    "max_docs": 20,
    "max_samples": 8,
    "max_refine_rounds": 3,
    "max_rewrites": 3,
    "max_tokens_per_query": 60_000,
    "history_turns": 10,
    "difficulty_max_tokens": 64,
    "grade_max_tokens": 16,
    "rewrite_max_tokens": 128,
    "condense_max_tokens": 128,
    "generate_max_tokens": 512,
    "refine_max_tokens": 512,
    **{f"{level}_samples": 8 for level in LEVELS},
    **{f"{level}_partitions": 8 for level in LEVELS},
    **{f"{level}_refine_rounds": 3 for level in LEVELS},
    **{f"{level}_docs": 20 for level in ("medium", "hard")},
}


class Refused(ValueError):
    """A request's settings the server will not run: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


@lru_cache(maxsize=1)
def ceilings() -> dict[str, float]:
    """The operator's ceilings: the defaults, updated by $RAGLOOP_CEILINGS."""
    raw = os.environ.get(CEILINGS_ENV, "").strip()
    try:
        given = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{CEILINGS_ENV} is not JSON: {exc.msg}.") from exc
    if not isinstance(given, dict) or not all(isinstance(v, int | float) for v in given.values()):
        raise ConfigError(f'{CEILINGS_ENV} must be a JSON object of setting -> number, e.g. {{"k": 100}}.')
    unknown = set(given) - set(Context.field_names())
    if unknown:
        raise ConfigError(f"{CEILINGS_ENV} names no setting {', '.join(sorted(unknown))}.")
    return {**DEFAULT_CEILINGS, **given}


#: Keys the LangGraph server itself writes into a run's configurable, which it copies into the run's context
#: when the client sent none (a cron's scheduled run carries cron_id and the auth user there): not settings.
SERVER_KEYS = frozenset(
    {"cron_id", "thread_id", "run_id", "assistant_id", "graph_id", "user_id", "checkpoint_id", "checkpoint_ns"}
)


def _server_key(name: str) -> bool:
    return name in SERVER_KEYS or name.startswith(("langgraph_", "__"))


def requested_settings(payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """The settings a run, assistant or cron payload asks for, by their normalised names (settings.setting_name):
    its `context` and `config.configurable`, the keys LangGraph writes there itself aside."""
    payload = payload or {}
    context = payload.get("context") or {}
    configurable = (payload.get("config") or {}).get("configurable") or {}
    if not isinstance(context, dict) or not isinstance(configurable, dict):
        raise Refused(422, "context and config.configurable must be JSON objects of setting -> value.")
    fields = set(Context.field_names())
    # configurable also carries LangGraph's own keys (thread_id, checkpoint_ns…) and the client's: only settings
    # are ours. In context every key but the server's own is a setting, or refused as unknown.
    settings = {setting_name(k): v for k, v in configurable.items() if setting_name(k) in fields}
    for raw, value in context.items():
        if not _server_key(str(raw)):
            settings[setting_name(raw)] = value
    return settings


def check(settings: Mapping[str, Any]) -> Context:
    """The Context these settings make on the server, or Refused naming the first setting that may not be set.
    Names are normalised first (settings.setting_name), as Context.from_overrides reads them."""
    settings = {setting_name(name): value for name, value in settings.items()}
    deployment = set(deployment_fields())
    for name in settings:
        if name in deployment:
            raise Refused(
                403,
                f"{name} is a deployment setting: the server's operator sets it (environment or langgraph.json); "
                "a request cannot.",
            )
    try:
        ctx = Context.from_overrides(dict(settings))
    except ConfigError as exc:
        raise Refused(422, str(exc)) from None
    limits, defaults = ceilings(), Context()
    for name in settings:
        ceiling = limits.get(name)
        value = getattr(ctx, name)
        if ceiling is None or value == getattr(defaults, name):
            continue  # a setting at the server's default asks for nothing a run without it would not get
        unlimited = name == "max_tokens_per_query" and value == 0
        if unlimited or value > ceiling:
            shown = "0 (no budget)" if unlimited else repr(value)
            raise Refused(
                422, f"{name}={shown} is over this server's ceiling of {ceiling:g} ({CEILINGS_ENV}); ask for less."
            )
    return ctx
