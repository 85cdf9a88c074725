"""Cost settings: the prices a run's token usage is multiplied by."""

from __future__ import annotations

from dataclasses import dataclass

from ragloop.settings.metadata import NO_CACHE, setting


@dataclass(kw_only=True)
class CostSettings:
    price_table: str = setting(
        "",
        "JSON file of USD per 1M tokens per model id (input, output, cache_read, cache_write) that updates the "
        "shipped table (providers/prices.json).",
        kind="deployment",
        invalidates=NO_CACHE,
    )
    input_price_per_mtok: float = setting(
        0.0,
        "USD per 1M input tokens for a model the price table does not list (0: local).",
        kind="deployment",
        ge=0.0,
        le=1_000_000.0,
        invalidates=NO_CACHE,
    )
    output_price_per_mtok: float = setting(
        0.0,
        "USD per 1M output tokens for a model the price table does not list.",
        kind="deployment",
        ge=0.0,
        le=1_000_000.0,
        invalidates=NO_CACHE,
    )
