"""How a setting is declared: `setting(...)` puts everything about a field on the field itself.

Every `Context` field is made with :func:`setting`, which records in the field's
metadata (read by pydantic, so LangGraph Studio and the JSON schema see it too):

- ``description``: what the setting does;
- ``ge`` / ``le`` / ``gt``: its bounds, enforced by :func:`check_field` and shown in the schema;
- ``kind``: ``per-request`` (a tunable of one question) or ``deployment`` (anything that reaches the
  filesystem or the network, names a credential, or sizes the server: the operator's);
- ``invalidates``: the caches whose entries this setting's value is part of the key of
  (``retrieve``, ``rerank``, ``answer``); the cache keys are derived from it.

Choices are ``Literal`` types: Studio shows them as drop-downs and the schema as enums.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal

from ragloop.errors import ConfigError

Kind = Literal["per-request", "deployment"]
Cache = Literal["retrieve", "rerank", "answer"]
KINDS: tuple[Kind, ...] = typing.get_args(Kind)
CACHES: tuple[Cache, ...] = typing.get_args(Cache)

#: What a field's value may be part of when nothing else is said: the answer (every setting that shapes it).
ANSWER_ONLY: tuple[Cache, ...] = ("answer",)
#: Settings that change how a run is carried out (time, money, memory), never its answer.
NO_CACHE: tuple[Cache, ...] = ()
RETRIEVAL: tuple[Cache, ...] = ("retrieve", "rerank", "answer")
RERANK: tuple[Cache, ...] = ("rerank", "answer")


def setting(
    default: Any,
    description: str,
    *,
    kind: Kind = "per-request",
    invalidates: tuple[Cache, ...] = ANSWER_ONLY,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
) -> Any:
    """A dataclass field carrying its description, kind, bounds and the caches it invalidates.

    A callable `default` is a default factory (read from the environment when a Context is made).
    """
    bounds = {name: value for name, value in (("ge", ge), ("le", le), ("gt", gt)) if value is not None}
    metadata = {
        "description": description,
        **bounds,
        "json_schema_extra": {"kind": kind, "invalidates": list(invalidates)},
    }
    if callable(default):
        return dataclasses.field(default_factory=default, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def kind_of(f: dataclasses.Field) -> Kind:
    return f.metadata["json_schema_extra"]["kind"]


def invalidates(f: dataclasses.Field) -> tuple[Cache, ...]:
    return tuple(f.metadata["json_schema_extra"]["invalidates"])


def bounds_text(f: dataclasses.Field) -> str:
    """The field's bounds as a reader writes them: '1 to 1000', '> 0', '≥ 0', or ''."""
    ge, le, gt = (f.metadata.get(k) for k in ("ge", "le", "gt"))
    low = f"> {gt:g}" if gt is not None else None
    if ge is not None and le is not None:
        return f"{ge:g} to {le:g}"
    if le is not None:
        return f"{low}, ≤ {le:g}" if low else f"≤ {le:g}"
    if ge is not None:
        return f"≥ {ge:g}"
    return low or ""


def choices(hint: Any) -> tuple[Any, ...]:
    """The values a Literal type allows; () for any other type."""
    return typing.get_args(hint) if typing.get_origin(hint) is Literal else ()


def check_field(f: dataclasses.Field, hint: Any, value: Any) -> None:
    """ConfigError with one sentence when `value` is not of the field's type, choices or bounds."""
    name = f.name
    allowed = choices(hint)
    if allowed:
        if value not in allowed:
            shown = ", ".join(repr(a) if a == "" else str(a) for a in allowed)
            raise ConfigError(f"Unknown {name} {value!r}: choose one of {shown}.")
        return
    kind = hint if isinstance(hint, type) else type(f.default if f.default is not dataclasses.MISSING else value)
    if kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{name} takes true or false, got {value!r}.")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{name} takes a whole number, got {value!r}.")
    if kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ConfigError(f"{name} takes a number, got {value!r}.")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{name} takes text, got {value!r}.")
    if kind in (int, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{name} must be a finite number, got {value!r}.")
        ge, le, gt = (f.metadata.get(k) for k in ("ge", "le", "gt"))
        if (ge is not None and value < ge) or (le is not None and value > le) or (gt is not None and value <= gt):
            raise ConfigError(f"{name} must be {_range(ge, le, gt)}, got {value!r}.")


def _range(ge: float | None, le: float | None, gt: float | None) -> str:
    if ge is not None and le is not None:
        return f"between {ge:g} and {le:g}"
    if gt is not None and le is not None:
        return f"more than {gt:g} and at most {le:g}"
    if gt is not None:
        return f"more than {gt:g}"
    return f"at least {ge:g}" if ge is not None else f"at most {le:g}"


def coerce(f: dataclasses.Field, hint: Any, value: Any) -> Any:
    """A value from a command line, config file or JSON as the field's type (checked afterwards)."""
    kind = type(choices(hint)[0]) if choices(hint) else hint
    if not isinstance(value, str) or kind is str:
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    raw = value.strip()
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return raw.lower() in ("true", "1", "yes")
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        what = {bool: "true or false", int: "a whole number", float: "a number"}[kind]
        raise ConfigError(f"Setting {f.name} takes {what}, got {value!r}.") from None
    return raw
