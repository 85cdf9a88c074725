"""Estimated cost of a run: tokens per model (from the run's usage) times a price table."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ragloop.errors import ConfigError

PRICE_KEYS = ("input", "output", "cache_read", "cache_write")
_COUNTS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
}


@lru_cache(maxsize=8)
def price_table(override: str = "") -> dict[str, dict[str, float]]:
    """The shipped table (providers/prices.json), updated by the entries of the JSON file at `override`."""
    table = json.loads(resources.files("ragloop.providers").joinpath("prices.json").read_text(encoding="utf-8"))
    if override:
        path = Path(override).expanduser()
        try:
            extra = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"price_table {path}: cannot read it as JSON ({exc}).") from None
        for model, prices in extra.items():
            if not model.startswith("_") and (
                not isinstance(prices, dict)
                or not set(prices) <= set(PRICE_KEYS)
                or not all(isinstance(v, int | float) and v >= 0 for v in prices.values())
            ):
                raise ConfigError(
                    f"price_table {path}: {model!r} needs non-negative numbers for some of "
                    f"{', '.join(PRICE_KEYS)} (USD per 1M tokens)."
                )
        table = {**table, **extra}
    return {k: v for k, v in table.items() if not k.startswith("_")}


def prices_for(model: str, table: dict[str, dict[str, float]], default: dict[str, float]) -> dict[str, float]:
    """A model's prices: exact id, then the id without a cross-region prefix (us., eu., apac., global.), else default."""
    if model in table:
        return table[model]
    bare = model.split(".", 1)[1] if model.split(".", 1)[0] in ("us", "eu", "apac", "global", "jp", "au") else model
    return table.get(bare, default)


def estimate_cost(
    usage_by_model: dict[str, dict[str, int]], table: dict[str, dict[str, float]], default: dict[str, float]
) -> float:
    """USD for the tokens of every model; cache reads and writes at their own price when the table has one.

    Providers count cached tokens inside input_tokens (LangChain's convention), so
    they are moved out of the input price to their own.
    """
    total = 0.0
    for model, counts in usage_by_model.items():
        prices = prices_for(model, table, default)
        cached = {k: counts.get(_COUNTS[k], 0) for k in ("cache_read", "cache_write")}
        plain_input = counts.get("input_tokens", 0) - sum(cached[k] for k in cached if k in prices)
        total += plain_input * prices.get("input", 0.0) + counts.get("output_tokens", 0) * prices.get("output", 0.0)
        total += sum(cached[k] * prices[k] for k in cached if k in prices)
    return round(total / 1e6, 6)
