"""Every tunable of ragloop, in one `Context` made of small groups.

`Context` is the graphs' ``context_schema``: LangGraph Studio renders it as one
flat form (choices as drop-downs, bounds and kinds in the JSON schema),
``ragloop ask --set name=value`` overrides any field, and nodes read it through
:func:`get_context`. Each group lives in its own module; each field says what it
does, its bounds, whether it is a per-request or a deployment setting, and which
caches its value is part of the key of (settings/metadata.py). ``ragloop settings``
and docs/configuration.md list them.

This package is the bottom layer: it imports nothing of ragloop but errors.
"""

from __future__ import annotations

import functools
import json
import os
import typing
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from ragloop.errors import ConfigError
from ragloop.settings.answering import MAX_REWRITES_CEILING, AnsweringSettings
from ragloop.settings.budget import LEVELS, MAX_REFINE_CEILING, BudgetRow, BudgetTable, Level
from ragloop.settings.caching import STORE_SECONDS, CacheSettings
from ragloop.settings.cost import CostSettings
from ragloop.settings.difficulty import DifficultySettings
from ragloop.settings.endpoints import EndpointSettings
from ragloop.settings.metadata import Cache, Kind, bounds_text, check_field, choices, coerce, invalidates, kind_of
from ragloop.settings.models import ModelSettings
from ragloop.settings.rerank import RerankSettings
from ragloop.settings.retrieval import RetrievalSettings, ragloop_home
from ragloop.settings.uploads import UploadSettings

__all__ = [
    "LEVELS",
    "MAX_REFINE_CEILING",
    "MAX_REWRITES_CEILING",
    "STORE_SECONDS",
    "BudgetRow",
    "Cache",
    "Context",
    "Kind",
    "Level",
    "fields_invalidating",
    "get_context",
    "ragloop_home",
    "setting_name",
]

#: The groups in the order a reader (and Studio's form) meets them.
GROUPS = (
    RetrievalSettings,
    RerankSettings,
    ModelSettings,
    EndpointSettings,
    DifficultySettings,
    BudgetTable,
    AnsweringSettings,
    CacheSettings,
    CostSettings,
    UploadSettings,
)


# A dataclass lists its bases' fields last base first, so the groups are given in reverse.
@dataclass(kw_only=True)
class Context(
    UploadSettings,
    CostSettings,
    CacheSettings,
    AnsweringSettings,
    BudgetTable,
    DifficultySettings,
    EndpointSettings,
    ModelSettings,
    RerankSettings,
    RetrievalSettings,
):
    """Run-time configuration of the ragloop graphs."""

    def __post_init__(self) -> None:
        for name, value in operator_settings().items():  # the deployment's own defaults ($RAGLOOP_SETTINGS)
            if getattr(self, name) == _code_default(name):
                setattr(self, name, value)
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError with one clear sentence for an unusable setting."""
        hints = type_hints()
        for f in fields(self):
            check_field(f, hints[f.name], getattr(self, f.name))
        if self.chunk_overlap >= self.chunk_size:
            raise ConfigError("chunk_overlap must be at least 0 and smaller than chunk_size.")
        if self.easy_below > self.hard_above:
            raise ConfigError("Thresholds must satisfy 0 <= easy_below <= hard_above <= 1.")
        if self.bm25_weight + self.dense_weight == 0:
            raise ConfigError("bm25_weight and dense_weight must be non-negative and not both 0.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any] | None = None) -> Context:
        """Build a Context from a mapping, naming any unknown key clearly.

        Values may be strings (from a command line or a config file); each is
        converted to the setting's type, then checked.
        """
        by_name, hints = {f.name: f for f in fields(cls)}, type_hints()
        typed = {}
        for raw, value in (overrides or {}).items():
            name = setting_name(raw)
            if name not in by_name:
                raise ConfigError(f"Unknown setting {name!r}: `ragloop settings` lists them.")
            typed[name] = coerce(by_name[name], hints[name], value)
        return cls(**typed)


def setting_name(raw: object) -> str:
    """A setting's name as written anywhere (a command line, a request, a config file): surrounding space
    dropped, dashes as underscores. The one normalisation every reader of names applies."""
    return str(raw).strip().replace("-", "_")


OPERATOR_ENV = "RAGLOOP_SETTINGS"


def operator_settings() -> dict[str, Any]:
    """The deployment settings the operator sets for this process: $RAGLOOP_SETTINGS, a JSON object such as
    {"chat_provider": "bedrock", "local_n_ctx": 4096}. They replace those settings' defaults; on a shared
    server they are the only way to set them (a request may not: serving/policy.py)."""
    return _parse_operator_settings(os.environ.get(OPERATOR_ENV, "").strip())


@functools.lru_cache(maxsize=4)
def _parse_operator_settings(raw: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        given = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{OPERATOR_ENV} is not JSON: {exc.msg}.") from exc
    if not isinstance(given, dict):
        raise ConfigError(f'{OPERATOR_ENV} must be a JSON object of setting -> value, e.g. {{"local_n_ctx": 4096}}.')
    per_request = set(Context.field_names()) - set(deployment_fields())
    if misplaced := sorted(set(given) & per_request):
        raise ConfigError(f"{OPERATOR_ENV} holds deployment settings only; {', '.join(misplaced)} are per-request.")
    by_name, hints = {f.name: f for f in fields(Context)}, type_hints()
    for name in given:
        if name not in by_name:
            raise ConfigError(f"{OPERATOR_ENV} names no setting {name!r}: `ragloop settings` lists them.")
    return {name: coerce(by_name[name], hints[name], value) for name, value in given.items()}


def _code_default(name: str) -> Any:
    f = next(f for f in fields(Context) if f.name == name)
    return f.default_factory() if f.default_factory is not MISSING else f.default


@functools.cache
def type_hints() -> dict[str, Any]:
    """Each Context field's type (its Literal choices included)."""
    return typing.get_type_hints(Context)


def describe() -> list[dict[str, Any]]:
    """One record per setting: name, group, type, default (and whether the environment sets it), choices,
    bounds, kind, caches, description."""
    defaults, hints, rows = Context(), type_hints(), []
    group_of = {f.name: group.__name__ for group in GROUPS for f in fields(group)}
    for f in fields(Context):
        hint = hints[f.name]
        rows.append(
            {
                "name": f.name,
                "group": group_of[f.name],
                "type": type(choices(hint)[0]).__name__ if choices(hint) else getattr(hint, "__name__", str(hint)),
                "default": getattr(defaults, f.name),
                "from_environment": f.default_factory is not MISSING,
                "choices": list(choices(hint)),
                "bounds": bounds_text(f),
                "kind": kind_of(f),
                "invalidates": list(invalidates(f)),
                "description": f.metadata["description"],
            }
        )
    return rows


def fields_invalidating(cache: Cache) -> tuple[str, ...]:
    """The Context fields whose values are part of a cache's key."""
    return tuple(f.name for f in fields(Context) if cache in invalidates(f))


def deployment_fields() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Context) if kind_of(f) == "deployment")


def get_context(runtime: Any) -> Context:
    """The run's Context (a LangGraph ``Runtime``'s); defaults when invoked without ``context=``."""
    ctx = getattr(runtime, "context", None)
    if ctx is None:
        return Context()
    if isinstance(ctx, dict):
        return Context.from_overrides(ctx)
    return ctx
