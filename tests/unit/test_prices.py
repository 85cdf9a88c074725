"""Cost arithmetic: the price table against hand-computed cases."""

from __future__ import annotations

import json

import pytest

from ragloop.errors import ConfigError
from ragloop.providers.prices import estimate_cost, price_table, prices_for

HAIKU = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


def test_cached_tokens_are_priced_apart_from_plain_input():
    usage = {
        HAIKU: {
            "input_tokens": 10_000,
            "output_tokens": 500,
            "cache_read_tokens": 4_000,
            "cache_write_tokens": 1_000,
            "calls": 2,
        }
    }
    # plain input 5000 x $0.80 + output 500 x $4 + cache read 4000 x $0.08 + cache write 1000 x $1.00, per 1M
    assert estimate_cost(usage, price_table(), {}) == pytest.approx((4000 + 2000 + 320 + 1000) / 1e6)


def test_several_models_and_the_default_for_unlisted_ones():
    usage = {
        "amazon.titan-embed-text-v2:0": {"input_tokens": 1_000_000, "output_tokens": 0},
        "my-local-model": {"input_tokens": 2_000, "output_tokens": 1_000},
    }
    default = {"input": 1.0, "output": 2.0}
    assert estimate_cost(usage, price_table(), default) == pytest.approx(0.02 + (2_000 + 2_000) / 1e6)


def test_a_cross_region_prefix_finds_the_base_model():
    table = price_table()
    assert prices_for(HAIKU, table, {}) == table["anthropic.claude-3-5-haiku-20241022-v1:0"]
    assert prices_for("eu.amazon.nova-pro-v1:0", table, {"input": 9}) == table["amazon.nova-pro-v1:0"]


def test_an_override_file_updates_the_table(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"my-model": {"input": 1.5, "output": 6}}))
    table = price_table(str(path))
    assert table["my-model"] == {"input": 1.5, "output": 6} and HAIKU.removeprefix("us.") in table
    assert estimate_cost({"my-model": {"input_tokens": 1000, "output_tokens": 1000}}, table, {}) == pytest.approx(
        0.0075
    )


@pytest.mark.parametrize("content", ["{not json", json.dumps({"m": {"input": -1}}), json.dumps({"m": {"inptu": 1}})])
def test_a_bad_price_file_is_refused_clearly(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match="price_table"):
        price_table(str(path))


def test_a_run_reports_tokens_per_model_and_their_cost(use_provider, context):
    from ragloop.graph.builder import graph
    from tests.unit.test_graph import scripts

    use_provider(scripts())
    result = graph.invoke(
        {"question": "Where is Normandy?"}, context=context(input_price_per_mtok=1.0, output_price_per_mtok=10.0)
    )
    tokens_in = sum(u["input_tokens"] for u in result["usage"].values())
    tokens_out = sum(u["output_tokens"] for u in result["usage"].values())
    assert result["cost_usd"] == pytest.approx((tokens_in + 10 * tokens_out) / 1e6)
    assert sum(u["input_tokens"] for u in result["usage_by_model"].values()) == tokens_in
