"""Metadata filters in the syntax LangChain's vector stores and self-query retriever produce, parsed once and
checked before any search, then evaluated in Python (the local index) or translated (Milvus).

    {"source": "a.md"}                          equality (the plain form)
    {"title": ["A", "B"]}                       one of (ragloop's plain list form)
    {"year": {"$gte": 2000, "$lt": 2010}}       operators on one field, all of them must hold
    {"$or": [{"source": "a.md"}, {"page": {"$gt": 3}}]}, {"$and": [...]}
    $eq $ne $in $nin $gt $gte $lt $lte $exists

A comparison needs the field: `$ne`, `$nin` and the orderings are false where the chunk has no such field
(as in SQL and Milvus); `{"field": None}` and `{"field": {"$exists": False}}` match chunks without it.
Orderings compare numbers with numbers and text with text; anything else is false. An unknown operator,
a malformed filter or a value of the wrong kind is an InputError naming it, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

from ragloop.errors import InputError

COMPARISONS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")
LISTS = ("$in", "$nin")
OPERATORS = (*COMPARISONS, *LISTS, "$exists")
LOGICAL = ("$and", "$or")
Scalar = Union[str, int, float, bool, None]  # noqa: UP007 (a runtime alias)
MAX_DEPTH = 32


@dataclass(frozen=True)
class Test:
    """One condition on one field: `field` `op` `value`."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class All:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    parts: tuple[Node, ...]


Node = Union[Test, All, Any_]  # noqa: UP007


def parse(where: Mapping[str, Any] | None) -> Node | None:
    """The filter as a tree, or None for no filter; InputError names what is wrong."""
    if where is None or where == {}:
        return None
    return _parse(where, 0)


def _parse(where: Any, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise InputError(f"The filter nests deeper than {MAX_DEPTH} levels.")
    if not isinstance(where, Mapping) or not where:
        raise InputError(f"A filter is an object of field -> value or operator, got {_shown(where)}.")
    parts: list[Node] = []
    for key, value in where.items():
        if not isinstance(key, str) or not key:
            raise InputError(f"A filter's field names are text, got {_shown(key)}.")
        if key in LOGICAL:
            if not isinstance(value, list) or not value:
                raise InputError(f"{key} takes a non-empty list of filters, got {_shown(value)}.")
            children = tuple(_parse(child, depth + 1) for child in value)
            parts.append(All(children) if key == "$and" else Any_(children))
        elif key.startswith("$"):
            raise InputError(f"Unknown filter operator {key!r}: use {', '.join((*LOGICAL, *OPERATORS))}.")
        elif isinstance(value, Mapping):
            if not value:
                raise InputError(f"The filter on {key!r} names no operator.")
            parts.extend(_test(key, op, operand) for op, operand in value.items())
        elif isinstance(value, list | tuple | set):
            parts.append(_test(key, "$in", list(value)))
        else:
            parts.append(_test(key, "$eq", value))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def _test(field: str, op: Any, value: Any) -> Test:
    if op not in OPERATORS:
        raise InputError(f"Unknown filter operator {op!r} on {field!r}: use {', '.join(OPERATORS)}.")
    if op in LISTS:
        if not isinstance(value, list | tuple | set) or not all(_scalar(v) for v in value):
            raise InputError(f"{op} on {field!r} takes a list of values, got {_shown(value)}.")
        return Test(field, op, tuple(value))
    if op == "$exists":
        if not isinstance(value, bool):
            raise InputError(f"$exists on {field!r} takes true or false, got {_shown(value)}.")
        return Test(field, op, value)
    if not _scalar(value) or (op not in ("$eq", "$ne") and (value is None or isinstance(value, bool))):
        raise InputError(f"{op} on {field!r} takes a number or text, got {_shown(value)}.")
    if value is None:  # {"field": None}: the field is missing (or null)
        return Test(field, "$exists", op == "$ne")
    return Test(field, op, value)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def evaluate(node: Node | None, metadata: Mapping[str, Any]) -> bool:
    """Whether a chunk's metadata matches the filter."""
    if node is None:
        return True
    if isinstance(node, All):
        return all(evaluate(part, metadata) for part in node.parts)
    if isinstance(node, Any_):
        return any(evaluate(part, metadata) for part in node.parts)
    return holds(node, metadata.get(node.field), node.field in metadata and metadata[node.field] is not None)


def holds(test: Test, value: Any, present: bool) -> bool:
    """Whether one field's value passes one test (`present`: the chunk has the field, not null)."""
    if test.op == "$exists":
        return present == test.value
    if not present:
        return False
    if test.op == "$in":
        return any(_same(value, v) for v in test.value)
    if test.op == "$nin":
        return not any(_same(value, v) for v in test.value)
    if test.op == "$eq":
        return _same(value, test.value)
    if test.op == "$ne":
        return not _same(value, test.value)
    if not _comparable(value, test.value):
        return False
    return {
        "$gt": value > test.value,
        "$gte": value >= test.value,
        "$lt": value < test.value,
        "$lte": value <= test.value,
    }[test.op]


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same kind (1 and True are not the same, 1 and 1.0 are)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _comparable(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    return (isinstance(a, numbers) and isinstance(b, numbers)) or (isinstance(a, str) and isinstance(b, str))


def fields_of(node: Node | None) -> set[str]:
    """Every field the filter tests."""
    if node is None:
        return set()
    if isinstance(node, Test):
        return {node.field}
    return set().union(*(fields_of(part) for part in node.parts))


def conjuncts(node: Node | None) -> list[Node]:
    """The parts that must all hold (a top-level $and, flattened)."""
    if node is None:
        return []
    if isinstance(node, All):
        return [leaf for part in node.parts for leaf in conjuncts(part)]
    return [node]
